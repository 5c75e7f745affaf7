"""Merges that scale with the change: a merge reads and rewrites only the files of replaced rows.

The ``orders`` table holds 100 orders in each of 6 creation months (one data file per month),
their codes growing with the month, so both the partition and the key bounds tell files apart.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from pyiceberg.table import Table

from ingestion.dataplane import get_catalog, table_identifier
from ingestion.dataplane.merge import StoredRows, stored_versions
from ingestion.domain import UploadOutcome
from ingestion.schemas.spec import FieldType, spec_from_declaration
from ingestion.settings import Settings
from tests.integration.dataplane.uploads import ingest_bytes

COLLECTION = "c0ffee"
ORDERS = spec_from_declaration(
    "orders",
    [
        ("code", FieldType.STRING, True),
        ("amount", FieldType.INTEGER, False),
        ("created", FieldType.DATETIME, True),
        ("updated", FieldType.DATETIME, True),
    ],
    key="code",
    version_field="updated",
)
MONTHS = range(1, 7)
PER_MONTH = 100
HEADER = "code,amount,created,updated\n"


def code(month: int, number: int) -> str:
    return f"k{month:02d}-{number:03d}"


def ingest(settings: Settings, lines: list[str], request_id: str) -> UploadOutcome:
    data = (HEADER + "".join(line + "\n" for line in lines)).encode()
    return ingest_bytes(settings, data, request_id, collection_id=COLLECTION, data_type=ORDERS)


def stored_orders(settings: Settings) -> UploadOutcome:
    lines = [
        f"{code(month, number)},1,2024-{month:02d}-15T10:00:00,2024-07-01T00:00:00"
        for month in MONTHS
        for number in range(PER_MONTH)
    ]
    return ingest(settings, lines, "r1")


def orders_table(settings: Settings) -> Table:
    return get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "orders"))


def data_files(table: Table) -> set[str]:
    return {task.file.file_path for task in table.scan().plan_files()}


def rows(settings: Settings) -> pa.Table:
    return orders_table(settings).scan().to_arrow().sort_by("code")


def test_update_whose_stored_row_lives_in_an_old_partition_replaces_it(settings):
    stored_orders(settings)

    outcome = ingest(settings, [f"{code(1, 5)},99,2024-06-20T00:00:00,2024-08-01T00:00:00"], "r2")

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (0, 1, 600)
    table = rows(settings)
    assert table.num_rows == 600
    (row,) = table.filter(pa.compute.equal(table.column("code"), code(1, 5))).to_pylist()
    assert (row["amount"], row["created"]) == (99, datetime(2024, 6, 20, tzinfo=UTC))


def test_merge_rewrites_only_the_file_holding_the_replaced_keys(settings):
    stored_orders(settings)
    before = orders_table(settings)
    files_before = data_files(before)
    updates = [f"{code(2, n)},7,2024-02-15T10:00:00,2024-08-01T00:00:00" for n in (3, 40, 77)]

    ingest(settings, [*updates, "k99-000,1,2024-06-01T00:00:00,2024-08-01T00:00:00"], "r2")

    after = orders_table(settings)
    new_snapshots = [
        s for s in after.snapshots() if s.snapshot_id not in {o.snapshot_id for o in before.snapshots()}
    ]
    deleted = sum(int(s.summary["deleted-data-files"] or 0) for s in new_snapshots if s.summary)
    assert deleted == 1
    assert len(files_before - data_files(after)) == 1  # the February file, rewritten
    assert len(files_before) == len(MONTHS)
    assert rows(settings).num_rows == 601


def test_merge_commits_one_overwrite_snapshot(settings):
    stored_orders(settings)
    before = {s.snapshot_id for s in orders_table(settings).snapshots()}

    ingest(settings, [f"{code(3, 1)},5,2024-03-15T10:00:00,2024-08-01T00:00:00"], "r2")

    new = [s for s in orders_table(settings).snapshots() if s.snapshot_id not in before]
    assert [s.summary.operation.value for s in new if s.summary] == ["overwrite"]


def test_rewritten_partition_holds_one_file_with_the_incoming_rows(settings):
    stored_orders(settings)
    ingest(settings, ["k03-500,1,2024-03-20T00:00:00,2024-08-01T00:00:00"], "r2")  # a second March file

    ingest(
        settings,
        [
            f"{code(3, 1)},5,2024-03-15T10:00:00,2024-08-01T00:00:00",
            "k03-500,2,2024-03-20T00:00:00,2024-08-02T00:00:00",
            "k03-600,1,2024-03-21T00:00:00,2024-08-01T00:00:00",
        ],
        "r3",
    )

    march = [
        task.file
        for task in orders_table(settings).scan().plan_files()
        if task.file.partition[0] == (2024 - 1970) * 12 + 2
    ]
    assert [f.record_count for f in march] == [PER_MONTH + 2]
    table = rows(settings)
    assert table.num_rows == 602
    assert table.column("code").to_pylist() == sorted(table.column("code").to_pylist())


def test_many_replaced_keys_are_all_replaced_without_duplicates(settings):
    stored_orders(settings)
    updates = [
        f"{code(month, number)},{month * 1000 + number},2024-{month:02d}-15T10:00:00,2024-08-01T00:00:00"
        for month in (1, 3, 5)
        for number in range(PER_MONTH)
    ]
    new = [f"k07-{number:03d},5,2024-07-15T10:00:00,2024-08-01T00:00:00" for number in range(50)]

    outcome = ingest(settings, updates + new, "r2")

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (50, 300, 650)
    table = rows(settings)
    assert table.num_rows == 650
    assert pa.compute.count_distinct(table.column("code")).as_py() == 650
    amounts = dict(zip(table.column("code").to_pylist(), table.column("amount").to_pylist(), strict=True))
    assert amounts[code(3, 42)] == 3042
    assert amounts[code(2, 42)] == 1


def test_stale_rows_outside_any_replaced_partition_stay(settings):
    stored_orders(settings)

    outcome = ingest(
        settings,
        [
            f"{code(6, 1)},5,2024-06-15T10:00:00,2024-06-01T00:00:00",  # older than stored: stale
            f"{code(1, 1)},5,2024-01-15T10:00:00,2024-08-01T00:00:00",
        ],
        "r2",
    )

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (0, 1, 600)
    assert outcome.warnings[0].startswith("1 rows were not merged")
    amounts = dict(zip(*rows(settings).select(["code", "amount"]).to_pydict().values(), strict=True))
    assert (amounts[code(6, 1)], amounts[code(1, 1)]) == (1, 5)


def candidate_files(settings: Settings, codes: list[str]) -> StoredRows:
    incoming = pa.table({"code": codes, "updated": pa.array([None] * len(codes), pa.timestamp("us", "UTC"))})
    return stored_versions(orders_table(settings), ORDERS, incoming)


def test_a_few_keys_far_apart_read_only_the_files_holding_them(settings):
    stored_orders(settings)

    stored = candidate_files(settings, [code(1, 5), code(6, 50)])

    # Their range spans every month; looked up key by key, only January's and June's files.
    assert len(stored.files) == 2
    assert sorted(set(stored.rows.column("code").to_pylist()) & {code(1, 5), code(6, 50)}) == [
        code(1, 5),
        code(6, 50),
    ]


def test_many_keys_are_looked_up_by_their_range(settings, monkeypatch):
    stored_orders(settings)
    monkeypatch.setattr("ingestion.dataplane.merge.KEY_SET_LIMIT", 1)

    stored = candidate_files(settings, [code(1, 5), code(6, 50)])

    assert len(stored.files) == len(MONTHS)


def test_files_of_a_small_upsert_are_read_once_whole_and_rewritten_from_that_read(settings, monkeypatch):
    stored_orders(settings)
    stored = candidate_files(settings, [code(2, 3)])
    assert stored.file_rows is not None
    assert [piece.num_rows for piece in stored.file_rows] == [PER_MONTH]
    assert stored.file_rows[0].column_names == ["code", "amount", "created", "updated"]

    def no_second_read(*_: object, **__: object) -> None:
        raise AssertionError("the file was read again")

    monkeypatch.setattr("pyiceberg.io.pyarrow.ArrowScan.to_table", no_second_read)
    # The lookup itself reads through ArrowScan: the merge gets the read made above.
    monkeypatch.setattr("ingestion.dataplane.merge.stored_versions", lambda *_: stored)
    outcome = ingest(settings, [f"{code(2, 3)},5,2024-02-15T10:00:00,2024-08-01T00:00:00"], "r2")

    assert (outcome.rows_updated, outcome.row_count) == (1, 600)
    monkeypatch.undo()
    table = rows(settings)
    assert table.num_rows == 600
    (row,) = table.filter(pa.compute.equal(table.column("code"), code(2, 3))).to_pylist()
    assert row["amount"] == 5


def test_candidate_files_past_the_whole_read_limit_are_read_for_keys_only(settings, monkeypatch):
    stored_orders(settings)
    monkeypatch.setattr("ingestion.dataplane.merge.WHOLE_READ_ROWS", PER_MONTH - 1)

    stored = candidate_files(settings, [code(2, 3)])

    assert stored.file_rows is None
    assert stored.rows.column_names == ["code", "updated", "__file"]
