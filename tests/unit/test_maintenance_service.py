"""Maintaining every table: each under its commit lock, one failure never stopping the others."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingestion.dataplane.maintenance import MaintenanceResult
from ingestion.services.maintenance import MaintenanceDependencies, MaintenanceFailed, maintain_all_tables
from tests.conftest import make_settings
from tests.unit.fakes import RecordingLocks


class Tables:
    def __init__(self, *tables: tuple[str, str], failing: str | None = None) -> None:
        self.names = list(tables)
        self.failing = failing
        self.maintained: list[tuple[str, bool, set[int]]] = []
        self.locks: RecordingLocks | None = None

    def tables(self, settings):
        return self.names

    def maintain(self, collection_id, data_type, *, keeper, settings, now):
        name = f"{collection_id}/{data_type}"
        self.maintained.append((name, name in self.locks.held, keeper.kept_snapshots))
        if name == self.failing:
            raise RuntimeError("the table kept changing")
        return MaintenanceResult(files_before=10, files_after=1, snapshots_expired=3, orphans_deleted=12)


def deps(tables: Tables, locks: RecordingLocks) -> MaintenanceDependencies:
    tables.locks = locks
    return MaintenanceDependencies(tables=tables, commit_locks=locks, settings=make_settings())  # type: ignore[arg-type]


def test_every_table_is_maintained_under_its_lock_keeping_unrecorded_snapshots():
    locks = RecordingLocks()
    locks.unrecorded["c1/deals"] = {"r1": 42}
    tables = Tables(("c1", "deals"), ("c2", "lead_scores"))

    results = maintain_all_tables(deps(tables, locks), now=datetime(2026, 11, 28, tzinfo=UTC))

    assert set(results) == {"c1/deals", "c2/lead_scores"}
    assert tables.maintained == [("c1/deals", True, {42}), ("c2/lead_scores", True, set())]


def test_a_table_that_fails_does_not_stop_the_others_and_the_run_says_so():
    locks = RecordingLocks()
    tables = Tables(("c1", "deals"), ("c2", "deals"), ("c3", "deals"), failing="c2/deals")

    with pytest.raises(MaintenanceFailed, match="1 tables could not be maintained: c2/deals"):
        maintain_all_tables(deps(tables, locks))

    assert [name for name, _, _ in tables.maintained] == ["c1/deals", "c2/deals", "c3/deals"]
