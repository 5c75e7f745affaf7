"""Processing uploaded files: the validator's and the dead-letter function's use cases.

The validator receives the notifications of up to a batch of files at once. Each file walks
the steps of :mod:`.uploaded_files` (find its request, take it, check the file) in arrival
order. The small files of one table are then merged together, in ONE commit under the table's
commit lock, each keeping its own request, counters and errors (a group commit: a busy table's
queue drains at the rate of commits, not of files; see :mod:`ingestion.dataplane.group_merge`).
A file that adds columns or is large is merged alone, once the files of its table that arrived
before it are merged, so the rows left for a key are the same as if each file had been merged
in turn.

A file whose check fails (refused, its collection gone) ends ``error`` and never joins a group;
a failure of the service for one file fails that file alone; a group whose commit fails fails
its files alone. A failed file's request is released and the failure is returned for it, so its
notification is delivered again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from ingestion.domain import UploadOutcome, UploadRequest
from ingestion.errors import StatusConflict
from ingestion.observability import logger, metrics
from ingestion.repositories.files import FileInfo
from ingestion.services.processing_dependencies import Dependencies, UploadedObject
from ingestion.services.upload_targets import upload_target_gone
from ingestion.services.uploaded_files import (
    Checked,
    check,
    find_or_record_request,
    finish,
    refused,
    release,
    table_lock_of,
    take,
)

if TYPE_CHECKING:
    from ingestion.schemas.spec import DataTypeSpec

__all__ = [
    "Dependencies",
    "NotStarted",
    "UploadedObject",
    "fail_uploaded_file",
    "process_uploaded_file",
    "process_uploaded_files",
]

# What processing gives back for each file: its request as it stands, None for a file that
# belongs to no collection (logged and left alone), or why the file must be delivered again.
Processed = UploadRequest | None | Exception


class NotStarted(RuntimeError):
    """The invocation ran short of time before this file could be started; it comes back."""


def process_uploaded_file(uploaded: UploadedObject, deps: Dependencies | None = None) -> UploadRequest | None:
    """Validate one uploaded file and merge it into its collection.

    Safe to call again for the same object: a finished request is left as it is; one that
    another live attempt holds raises :class:`~ingestion.errors.RequestBusy`, so the
    notification comes back later. Returns the request as it stands, or None when the file
    cannot be attributed to a collection (it is logged and left alone).
    """
    (result,) = process_uploaded_files([uploaded], deps)
    if isinstance(result, Exception):
        raise result
    return result


def process_uploaded_files(
    uploaded: Sequence[UploadedObject],
    deps: Dependencies | None = None,
    *,
    may_start: Callable[[], bool] = lambda: True,
) -> list[Processed]:
    """Process a batch of uploaded files, merging the small ones of each table together;
    what became of each, in the order given.

    ``may_start`` is asked before each file is started: once it says no (the invocation is
    running out of time), the files not started are answered :class:`NotStarted`.
    """
    deps = deps or Dependencies.default()
    batch = _Batch(deps, [None] * len(uploaded))
    arrived = []
    first_of: dict[str, int] = {}  # a request announced twice in the batch is processed once
    repeats: list[tuple[int, int]] = []
    for index, each in enumerate(uploaded):
        try:
            found = find_or_record_request(each, deps)
        except Exception as error:
            batch.fail(index, error)
            continue
        if found is None:
            continue
        request, info = found
        if request.id in first_of:
            repeats.append((index, first_of[request.id]))
            continue
        first_of[request.id] = index
        arrived.append((_arrival(request, info), index, request, info))
    for _, index, request, info in sorted(arrived, key=lambda each: each[:2]):
        if not may_start():
            batch.results[index] = NotStarted(f"upload request {request.id} was not started: out of time")
            continue
        batch.start(index, request, info)
    batch.merge_all()
    for index, first in repeats:
        batch.results[index] = batch.results[first]
    return batch.results


def _arrival(request: UploadRequest, info: FileInfo) -> tuple[datetime, datetime]:
    """When the file arrived (its object's time; the request's, to order files of one second)."""
    return (info.last_modified or request.dump_datetime, request.dump_datetime)


@dataclass
class _Pending:
    index: int
    checked: Checked


@dataclass
class _Batch:
    """The files of one batch: what became of each, and the checked files of each table
    waiting to be merged together."""

    deps: Dependencies
    results: list[Processed]
    waiting: dict[str, list[_Pending]] = field(default_factory=dict)

    def start(self, index: int, request: UploadRequest, info: FileInfo) -> None:
        if request.status.is_final:
            self.results[index] = request
            return
        try:
            request = take(request, info, self.deps)
        except Exception as error:
            self.fail(index, error)
            return
        if request.status.is_final:
            self.results[index] = request
            return
        logger.append_keys(
            request_id=request.id, collection_id=request.collection_id, data_type=request.data_type
        )
        try:
            checked = check(request, info, self.deps)
        except Exception as error:
            release(request, self.deps)
            self.fail(index, error)
            return
        if isinstance(checked, UploadOutcome):
            self._finish(index, request, checked, None)
            return
        lock = table_lock_of(request)
        if checked.file.groupable:
            waiting = self.waiting.get(lock)
            if waiting and waiting[-1].checked.file.merge_type != checked.file.merge_type:
                # The table's columns changed while the batch was checked: a commit of its own.
                self.merge(lock)
            self.waiting.setdefault(lock, []).append(_Pending(index, checked))
            return
        # Merged alone, after the files of its table that arrived before it.
        self.merge(lock)
        self.waiting[lock] = [_Pending(index, checked)]
        self.merge(lock)

    def merge_all(self) -> None:
        for lock in list(self.waiting):
            self.merge(lock)

    def merge(self, lock: str) -> None:
        """Merge the files waiting for table ``lock`` in one commit, and finish each."""
        pending = self.waiting.pop(lock, [])
        if not pending:
            return
        first = pending[0].checked.request
        logger.append_keys(request_id=",".join(each.checked.request.id for each in pending))
        try:
            with self.deps.commit_locks.hold(lock) as held:
                # The collection or the data type's rows may have been deleted while the files
                # were checked; deletions take this lock, so what is seen now holds until the commit.
                live = []
                for each in pending:
                    reason = upload_target_gone(self.deps.collections, each.checked.request)
                    if reason is None:
                        live.append(each)
                    else:
                        self._finish_pending(each, refused(reason))
                if not live:
                    return
                outcomes = self.deps.data_plane.merge(
                    [(each.checked.request.id, each.checked.file) for each in live],
                    collection_id=first.collection_id,
                    keeper=held,
                    settings=self.deps.settings,
                )
            for each, outcome in zip(live, outcomes, strict=True):
                self._finish_pending(each, outcome)
        except Exception as error:
            for each in pending:
                if self.results[each.index] is None:
                    release(each.checked.request, self.deps)
                    self.fail(each.index, error)
        finally:
            for each in pending:
                each.checked.file.close()

    def _finish_pending(self, pending: _Pending, outcome: UploadOutcome) -> None:
        checked = pending.checked
        self._finish(pending.index, checked.request, outcome, checked.data_type)

    def _finish(
        self, index: int, request: UploadRequest, outcome: UploadOutcome, data_type: DataTypeSpec | None
    ) -> None:
        try:
            self.results[index] = finish(request, outcome, data_type, self.deps)
        except Exception as error:
            release(request, self.deps)
            self.fail(index, error)

    def fail(self, index: int, error: Exception) -> None:
        logger.exception("uploaded file not processed; it will be delivered again", exc_info=error)
        self.results[index] = error


def fail_uploaded_file(
    uploaded: UploadedObject, reason: str, deps: Dependencies | None = None
) -> UploadRequest | None:
    """Mark the request of a file whose notification could not be processed as ``error``."""
    deps = deps or Dependencies.default()
    found = find_or_record_request(uploaded, deps)
    if found is None:
        return None
    request, _ = found
    if request.status.is_final:
        return request
    message = (
        f"the file could not be processed ({reason}); it is kept at s3://{uploaded.bucket}/{uploaded.key}. "
        f"Upload it again, and report request id {request.id} if this happens again."
    )
    try:
        request = deps.uploads.fail(request, message, datetime.now(UTC))
    except StatusConflict:
        return deps.uploads.find(request.collection_id, request.data_type, request.id)
    metrics.add_metric(name="UploadsFailedInDeadLetter", unit=MetricUnit.Count, value=1)
    return request
