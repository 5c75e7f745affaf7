"""The export function's job: written once, retried when it fails, ended `error` on its last delivery."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingestion.domain import Collection, Export, ExportFormat, ExportStatus
from ingestion.errors import ExportNotFound, StatusConflict
from ingestion.services.exports import ExportDependencies, ExportJob, run_export
from tests.conftest import make_settings
from tests.unit.fakes import InMemoryCollections, InMemoryDataTypes, InMemoryFiles

COLLECTION = Collection(
    id="01jd3k7q9x0m5r2c8v4b6n1t3e", tenant_id="dev", name="CRM", created_at=datetime(2026, 1, 1, tzinfo=UTC)
)
EXPORT = Export(
    id="01jd3k9b3c4d5e6f7g8h9j0k1m",
    collection_id=COLLECTION.id,
    data_type="deals",
    format=ExportFormat.CSV,
    status=ExportStatus.QUEUED,
    created_at=datetime(2026, 11, 28, tzinfo=UTC),
    object_key=f"exports/{COLLECTION.id}/deals/01jd3k9b3c4d5e6f7g8h9j0k1m.csv",
)
JOB = ExportJob(COLLECTION.id, "deals", EXPORT.id)


class InMemoryExports:
    """The export repository's states over a dict."""

    def __init__(self, *exports: Export) -> None:
        self.exports = {export.id: export for export in exports}
        self.released: list[str] = []

    def find(self, collection_id: str, data_type: str, export_id: str) -> Export | None:
        return self.exports.get(export_id)

    def get(self, collection_id: str, data_type: str, export_id: str) -> Export:
        found = self.find(collection_id, data_type, export_id)
        if found is None:
            raise ExportNotFound(export_id)
        return found

    def start(self, export: Export, now: datetime, lease_seconds: int) -> Export:
        current = self.exports[export.id]
        if current.status is not ExportStatus.QUEUED:
            raise StatusConflict("taken")
        return self._set(
            current, status=ExportStatus.IN_PROGRESS, attempt=current.attempt + 1, started_at=now
        )

    def finish(self, export: Export, row_count: int, now: datetime) -> Export:
        return self._set(export, status=ExportStatus.COMPLETED, row_count=row_count, finished_at=now)

    def fail(self, export: Export, message: str, now: datetime) -> Export:
        return self._set(export, status=ExportStatus.ERROR, message=message, finished_at=now)

    def release(self, export: Export) -> None:
        self.released.append(export.id)
        self._set(export, status=ExportStatus.QUEUED)  # free for the next delivery

    def _set(self, export: Export, **update: Any) -> Export:
        self.exports[export.id] = self.exports[export.id].model_copy(update=update)
        return self.exports[export.id]


class ScriptedTables:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure

    def export(self, collection_id: str, data_type: Any, file_format: Any, path: Path, settings: Any) -> int:
        if self.failure is not None:
            raise self.failure
        path.write_text("id\n1\n2\n")
        return 2


class RecordingFiles(InMemoryFiles):
    def put_file(self, key: str, path: str, content_type: str) -> None:
        self.reports[key] = Path(path).read_bytes()


def deps(
    exports: InMemoryExports, tables: ScriptedTables, collection: Collection = COLLECTION
) -> ExportDependencies:
    return ExportDependencies(
        collections=InMemoryCollections(collection),  # type: ignore[arg-type]
        data_types=InMemoryDataTypes(),  # type: ignore[arg-type]
        exports=exports,  # type: ignore[arg-type]
        files=RecordingFiles(),
        tables=tables,  # type: ignore[arg-type]
        settings=make_settings(MAX_RECEIVE_COUNT=3),
    )


def test_an_export_is_written_once_and_counted():
    exports = InMemoryExports(EXPORT)
    world = deps(exports, ScriptedTables())

    done = run_export(JOB, delivery=1, deps=world)

    assert (done.status, done.row_count) == (ExportStatus.COMPLETED, 2)
    assert world.files.reports[EXPORT.object_key] == b"id\n1\n2\n"
    assert run_export(JOB, delivery=2, deps=world) == done  # a redelivery writes nothing again


def test_a_failed_attempt_frees_the_export_and_fails_for_the_queue_to_deliver_it_again():
    exports = InMemoryExports(EXPORT)

    with pytest.raises(OSError, match="disk full"):
        run_export(JOB, delivery=2, deps=deps(exports, ScriptedTables(OSError("disk full"))))

    assert exports.released == [EXPORT.id]
    assert exports.exports[EXPORT.id].status is ExportStatus.QUEUED


def test_a_failure_on_the_last_delivery_ends_the_export_error():
    exports = InMemoryExports(EXPORT)

    ended = run_export(JOB, delivery=3, deps=deps(exports, ScriptedTables(OSError("disk full"))))

    assert ended.status is ExportStatus.ERROR
    assert "ask for a new one" in ended.message


def test_an_export_whose_collection_was_deleted_ends_error_without_reading_anything():
    exports = InMemoryExports(EXPORT)
    deleted = COLLECTION.model_copy(update={"deleted_at": datetime(2026, 11, 28, tzinfo=UTC)})

    ended = run_export(JOB, delivery=1, deps=deps(exports, ScriptedTables(AssertionError("read")), deleted))

    assert ended.status is ExportStatus.ERROR
    assert "deleted" in ended.message


def test_a_job_for_an_export_purged_since_does_nothing():
    assert run_export(JOB, delivery=1, deps=deps(InMemoryExports(), ScriptedTables())) is None
