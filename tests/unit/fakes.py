"""In-memory stand-ins for what the processing service talks to, for fast tests of its states.

Each keeps the contract of the repository it replaces, conditional writes included (the upload
requests' one is checked against the real repository in ``test_upload_request_contract.py``),
and records what was asked of it, so a test can say what happened without AWS.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from ingestion.domain import (
    Collection,
    DataTypeStats,
    IngestOptions,
    UploadOutcome,
    UploadRequest,
    UploadStatus,
)
from ingestion.errors import CollectionNotFound, FileReplaced, StatusConflict, UploadRequestNotFound
from ingestion.repositories.commit_locks import HeldLock
from ingestion.repositories.files import FileInfo, FileStore
from ingestion.schemas.spec import DataTypeSpec
from ingestion.services.processing import Dependencies
from ingestion.settings import Settings
from tests.conftest import make_settings

BUCKET = "data"


class InMemoryUploads:
    """The upload-request repository's state machine over a dict."""

    def __init__(self) -> None:
        self.requests: dict[str, UploadRequest] = {}
        self.leases: dict[str, int] = {}
        self.released: list[str] = []
        self.progress: list[int] = []

    def create(self, request: UploadRequest) -> bool:
        if request.id in self.requests:
            return False
        self.requests[request.id] = request
        return True

    def find(self, collection_id: str, data_type: str, request_id: str) -> UploadRequest | None:
        request = self.requests.get(request_id)
        if request is None or (request.collection_id, request.data_type) != (collection_id, data_type):
            return None
        return request

    def get(self, collection_id: str, data_type: str, request_id: str) -> UploadRequest:
        request = self.find(collection_id, data_type, request_id)
        if request is None:
            raise UploadRequestNotFound(request_id)
        return request

    def waiting_for_file(self, expired_before: datetime, limit: int) -> list[UploadRequest]:
        waiting = [
            request
            for request in self.requests.values()
            if request.awaiting_file_until is not None and request.awaiting_file_until < expired_before
        ]
        return sorted(waiting, key=lambda request: request.awaiting_file_until)[:limit]

    def start(
        self, request: UploadRequest, now: datetime, lease_seconds: int, size_bytes: int | None = None
    ) -> UploadRequest:
        current = self.requests[request.id]
        abandoned = current.status is UploadStatus.IN_PROGRESS and self.leases[request.id] < int(
            now.timestamp()
        )
        if current.status is not UploadStatus.QUEUED and not abandoned:
            raise StatusConflict(f"upload request {request.id} is not waiting to be processed")
        started = current.model_copy(
            update={
                "status": UploadStatus.IN_PROGRESS,
                "attempt": current.attempt + 1,
                "started_datetime": now,
                "message": None,
                "awaiting_file_until": None,
                "size_bytes": current.size_bytes if size_bytes is None else size_bytes,
            }
        )
        self.requests[request.id] = started
        self.leases[request.id] = int(now.timestamp()) + lease_seconds
        return started

    def finish(self, request: UploadRequest, outcome: UploadOutcome, now: datetime) -> UploadRequest:
        self._check_held(request)
        finished = self.requests[request.id].model_copy(
            update={
                "status": outcome.status,
                "message": outcome.message,
                "processed_lines": outcome.processed_lines,
                "rows_inserted": outcome.rows_inserted,
                "rows_updated": outcome.rows_updated,
                "rows_rejected": outcome.rows_rejected,
                "warnings": outcome.warnings,
                "validation_errors": outcome.validation_errors or None,
                "validation_error_count": outcome.validation_error_count,
                "finished_datetime": now,
                "awaiting_file_until": None,
            }
        )
        self.requests[request.id] = finished
        self.leases.pop(request.id, None)
        return finished

    def report_progress(self, request: UploadRequest, processed_lines: int) -> bool:
        try:
            self._check_held(request)
        except StatusConflict:
            return False
        self.requests[request.id] = self.requests[request.id].model_copy(
            update={"processed_lines": processed_lines}
        )
        self.progress.append(processed_lines)
        return True

    def release(self, request: UploadRequest) -> bool:
        try:
            self._check_held(request)
        except StatusConflict:
            return False
        self.leases[request.id] = 0
        self.released.append(request.id)
        return True

    def fail(self, request: UploadRequest, message: str, now: datetime) -> UploadRequest:
        current = self.requests[request.id]
        if current.status.is_final:
            raise StatusConflict(f"upload request {request.id} was already finished or taken over")
        return self._end(current, message, now)

    def expire_upload_url(
        self, request: UploadRequest, message: str, now: datetime, expired_before: datetime
    ) -> UploadRequest:
        current = self.requests[request.id]
        waiting = current.awaiting_file_until is not None and current.awaiting_file_until < expired_before
        if current.status is not UploadStatus.QUEUED or not waiting:
            raise StatusConflict(f"upload request {request.id} was already finished or taken over")
        return self._end(current, message, now)

    def _end(self, current: UploadRequest, message: str, now: datetime) -> UploadRequest:
        failed = current.model_copy(
            update={
                "status": UploadStatus.ERROR,
                "message": message,
                "finished_datetime": now,
                "awaiting_file_until": None,
            }
        )
        self.requests[current.id] = failed
        self.leases.pop(current.id, None)
        return failed

    def _check_held(self, request: UploadRequest) -> None:
        current = self.requests[request.id]
        if current.status is not UploadStatus.IN_PROGRESS or current.attempt != request.attempt:
            raise StatusConflict(f"upload request {request.id} was already finished or taken over")


@dataclass
class StoredObject:
    content: bytes
    info: FileInfo


class InMemoryFiles(FileStore):
    """The bucket as a dict: the key layout is the real store's, only the I/O is in memory."""

    def __init__(self) -> None:
        super().__init__(s3_client=None, bucket=BUCKET, incoming_prefix="incoming/")
        self.objects: dict[str, StoredObject] = {}
        self.reports: dict[str, bytes] = {}

    def drop(
        self,
        key: str,
        content: bytes,
        *,
        etag: str = '"e1"',
        written: datetime | None = None,
        content_type: str | None = None,
    ) -> None:
        """A file written straight into the bucket, or PUT to an upload URL (no request in its metadata)."""
        info = FileInfo(
            size_bytes=len(content),
            upload=None,
            etag=etag,
            last_modified=written or datetime(2026, 11, 28, tzinfo=UTC),
            content_type=content_type,
        )
        self.objects[key] = StoredObject(content, info)

    def upload_url(self, key: str, expires_in_seconds: int) -> str:
        return f"https://{self.bucket}.s3.example/{key}?X-Amz-Expires={expires_in_seconds}"

    def info(self, key: str) -> FileInfo | None:
        stored = self.objects.get(key)
        return None if stored is None else stored.info

    def open(self, key: str, etag: str = "") -> BinaryIO:
        stored = self.objects[key]
        if etag and stored.info.etag != etag:
            raise FileReplaced(f"s3://{self.bucket}/{key}")
        return io.BytesIO(stored.content)

    def put_report(self, key: str, body: bytes) -> str:
        self.reports[key] = body
        return f"s3://{self.bucket}/{key}"


class InMemoryCollections:
    def __init__(self, *collections: Collection) -> None:
        self.collections = {collection.id: collection for collection in collections}
        self.sequences: dict[tuple[str, str], int] = {}

    def find(self, collection_id: str) -> Collection | None:
        return self.collections.get(collection_id)

    def get_for_tenant(self, collection_id: str, tenant_id: str) -> Collection:
        collection = self.find(collection_id)
        if collection is None or collection.tenant_id != tenant_id:
            raise CollectionNotFound(collection_id)
        return collection

    def record_merge(self, collection_id: str, data_type: str, stats: DataTypeStats, sequence: int) -> bool:
        if self.sequences.get((collection_id, data_type), -1) >= sequence:
            return False
        self.sequences[(collection_id, data_type)] = sequence
        collection = self.collections[collection_id]
        self.collections[collection_id] = collection.model_copy(
            update={"data_types": collection.data_types | {data_type: stats}}
        )
        return True


class InMemoryDataTypes:
    def __init__(self) -> None:
        self.declared: dict[tuple[str, str], DataTypeSpec] = {}

    def find(self, collection_id: str, data_type: str) -> DataTypeSpec | None:
        return self.declared.get((collection_id, data_type))

    def replace_fields(self, collection_id: str, spec: DataTypeSpec) -> None:
        self.declared[(collection_id, spec.name)] = spec


class RecordingLocks:
    """Commit locks that record who held which table, whether anyone held it at a time, and the
    snapshots of merges not yet recorded (``unrecorded[table][request]``)."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.held: set[str] = set()
        self.unrecorded: dict[str, dict[str, int]] = {}

    @contextmanager
    def hold(self, name: str) -> Iterator[HeldLock]:
        assert name not in self.held, f"{name} held twice"
        self.taken.append(name)
        self.held.add(name)
        noted = self.unrecorded.setdefault(name, {})
        try:
            yield HeldLock(
                name=name,
                owner="test",
                kept_snapshots=set(noted.values()),
                _note=lambda _name, _owner, request_ids, snapshot_id: noted.update(
                    dict.fromkeys(request_ids, snapshot_id)
                ),
            )
        finally:
            self.held.discard(name)

    def forget(self, name: str, request_id: str) -> None:
        self.unrecorded.get(name, {}).pop(request_id, None)


@dataclass
class ScriptedFile:
    """A file the scripted data plane checked: its outcome decides whether it is merged."""

    outcome: UploadOutcome
    groupable: bool
    merge_type: DataTypeSpec = field(default_factory=lambda: DataTypeSpec(name="deals", fields=()))
    closed: bool = False

    def refused_outcome(self, request_id: str) -> UploadOutcome | None:
        return None if self.outcome.status is UploadStatus.COMPLETED else self.outcome

    def close(self) -> None:
        self.closed = True


@dataclass
class ScriptedDataPlane:
    """A data plane whose outcome (or failure) the test decides.

    Like the real one, it merges a request once: a request id it already merged is answered
    with the counts recorded then. ``read`` holds the bytes each check read from the file,
    ``asked`` the separator and options each check was given, and ``merges`` the request ids
    of each merge (one commit each). ``outcomes`` scripts the outcome of a file by its bytes;
    ``groupable`` says whether checked files may be merged together.
    """

    outcome: UploadOutcome = field(
        default_factory=lambda: UploadOutcome(
            status=UploadStatus.COMPLETED, processed_lines=5, rows_inserted=5, row_count=5, sequence_number=1
        )
    )
    outcomes: dict[bytes, UploadOutcome] = field(default_factory=dict)
    failure: BaseException | None = None
    merge_failure: BaseException | None = None
    groupable: bool = True
    merged: dict[str, UploadOutcome] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    read: list[bytes] = field(default_factory=list)
    asked: list[tuple[str, IngestOptions]] = field(default_factory=list)
    held_locks: list[bool] = field(default_factory=list)
    merges: list[list[str]] = field(default_factory=list)
    checked: list[ScriptedFile] = field(default_factory=list)
    progress_steps: list[int] = field(default_factory=list)  # what the data plane reports, in order
    locks: RecordingLocks | None = None

    def check(
        self,
        *,
        open_source: Callable[[], BinaryIO],
        separator: str,
        options: IngestOptions,
        on_progress: Callable[[int], None],
        **_: Any,
    ) -> ScriptedFile:
        content = open_source().read()
        self.read.append(content)
        for lines in self.progress_steps:
            on_progress(lines)
        self.asked.append((separator, options))
        if self.failure is not None:
            raise self.failure
        checked = ScriptedFile(self.outcomes.get(content, self.outcome), groupable=self.groupable)
        self.checked.append(checked)
        return checked

    def merge(
        self,
        uploads: Sequence[tuple[str, ScriptedFile]],
        *,
        keeper: HeldLock,
        **_: Any,
    ) -> list[UploadOutcome]:
        request_ids = [request_id for request_id, _ in uploads]
        self.calls += request_ids
        self.held_locks.append(bool(self.locks and self.locks.held))
        assert all(not checked.closed for _, checked in uploads), "merged a closed file"
        if self.merge_failure is not None:
            raise self.merge_failure
        new = [request_id for request_id in request_ids if request_id not in self.merged]
        if new:
            keeper.keep_snapshot(new, len(self.merges) + 1)
            self.merges.append(new)
        for request_id, checked in uploads:
            self.merged.setdefault(request_id, checked.outcome)
        return [self.merged[request_id] for request_id in request_ids]

    def table_spec(self, collection_id: str, data_type: str, settings: Settings) -> DataTypeSpec | None:
        return None


@dataclass
class World:
    """The processing service's dependencies, all in memory, and handles on each."""

    uploads: InMemoryUploads
    files: InMemoryFiles
    collections: InMemoryCollections
    data_types: InMemoryDataTypes
    locks: RecordingLocks
    data_plane: ScriptedDataPlane
    settings: Settings

    @property
    def deps(self) -> Dependencies:
        return Dependencies(
            collections=self.collections,  # type: ignore[arg-type]
            uploads=self.uploads,  # type: ignore[arg-type]
            files=self.files,
            data_types=self.data_types,  # type: ignore[arg-type]
            commit_locks=self.locks,  # type: ignore[arg-type]
            data_plane=self.data_plane,
            settings=self.settings,
        )


def in_memory_world(*collections: Collection, **settings: object) -> World:
    locks = RecordingLocks()
    return World(
        uploads=InMemoryUploads(),
        files=InMemoryFiles(),
        collections=InMemoryCollections(*collections),
        data_types=InMemoryDataTypes(),
        locks=locks,
        data_plane=ScriptedDataPlane(locks=locks),
        settings=make_settings(**settings),
    )
