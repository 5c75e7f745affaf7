"""Maintaining every collection's tables: the scheduled maintenance function's use case.

Each table is maintained under its commit lock (a merge and a compaction of one table never
race), and what the lock notes as not yet recorded is kept from snapshot expiry. One table
failing does not stop the others; the run reports failure at the end, so an alarm can see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from ingestion.observability import logger, metrics
from ingestion.repositories.commit_locks import CommitLockRepository, HeldLock, get_commit_lock_repository
from ingestion.services.iceberg import table_lock
from ingestion.settings import Settings, get_settings

if TYPE_CHECKING:
    from ingestion.dataplane.maintenance import MaintenanceResult


class TablesToMaintain(Protocol):
    """The collections' tables, as maintenance sees them (:mod:`ingestion.dataplane.maintenance`)."""

    def tables(self, settings: Settings) -> list[tuple[str, str]]: ...

    def maintain(
        self, collection_id: str, data_type: str, *, keeper: HeldLock, settings: Settings, now: datetime
    ) -> MaintenanceResult: ...


class IcebergTables:
    """The Iceberg tables in the Glue database, pyiceberg loaded on first use."""

    def tables(self, settings: Settings) -> list[tuple[str, str]]:
        from ingestion.dataplane import get_catalog
        from ingestion.dataplane.maintenance import table_names

        # Table names are <collectionId>_<dataType>: a collection id (a ULID) has no underscore.
        named = [name.split("_", 1) for name in table_names(get_catalog(settings), settings.glue_database)]
        return [(collection_id, data_type) for collection_id, data_type in named]

    def maintain(
        self, collection_id: str, data_type: str, *, keeper: HeldLock, settings: Settings, now: datetime
    ) -> MaintenanceResult:
        from ingestion import aws
        from ingestion.dataplane import get_catalog, load_table
        from ingestion.dataplane.maintenance import MaintenanceResult, maintain_table

        table = load_table(get_catalog(settings), settings, collection_id, data_type)
        if table is None:  # dropped meanwhile
            return MaintenanceResult(0, 0, 0, 0)
        return maintain_table(
            table,
            keeper=keeper,
            retention=timedelta(days=settings.snapshot_retention_days),
            orphan_age=timedelta(hours=settings.orphan_file_age_hours),
            now=now,
            s3=aws.client("s3"),
        )


@dataclass(frozen=True)
class MaintenanceDependencies:
    tables: TablesToMaintain
    commit_locks: CommitLockRepository
    settings: Settings

    @classmethod
    def default(cls) -> MaintenanceDependencies:
        return cls(tables=IcebergTables(), commit_locks=get_commit_lock_repository(), settings=get_settings())


class MaintenanceFailed(RuntimeError):
    """Some tables could not be maintained (the others were); the next run tries them again."""


def maintain_all_tables(
    deps: MaintenanceDependencies | None = None, now: datetime | None = None
) -> dict[str, MaintenanceResult]:
    """Maintain every table; the results by table (``<collectionId>/<dataType>``)."""
    deps = deps or MaintenanceDependencies.default()
    now = now or datetime.now(UTC)
    results: dict[str, MaintenanceResult] = {}
    failed = []
    for collection_id, data_type in deps.tables.tables(deps.settings):
        name = table_lock(collection_id, data_type)
        try:
            with deps.commit_locks.hold(name) as lock:
                results[name] = deps.tables.maintain(
                    collection_id, data_type, keeper=lock, settings=deps.settings, now=now
                )
        except Exception:
            logger.exception("table maintenance failed", extra={"table": name})
            failed.append(name)
    metrics.add_metric(name="TablesMaintained", unit=MetricUnit.Count, value=len(results))
    if failed:
        metrics.add_metric(name="TablesNotMaintained", unit=MetricUnit.Count, value=len(failed))
        raise MaintenanceFailed(f"{len(failed)} tables could not be maintained: {', '.join(failed[:10])}")
    return results
