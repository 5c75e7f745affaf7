"""Deciding a merge in Arrow: one row per key from a file, then which rows win against the table."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from ingestion.dataplane.column_checks import TIMESTAMP
from ingestion.dataplane.merge import keep_newest_per_key, plan_merge
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType

THINGS = DataTypeSpec(
    name="things",
    fields=(
        FieldSpec(name="id", type=FieldType.STRING, required=True),
        FieldSpec(name="note", type=FieldType.STRING),
        FieldSpec(name="updated", type=FieldType.DATETIME),
    ),
    key="id",
    version_field="updated",
)


def day(number: int | None) -> datetime | None:
    return None if number is None else datetime(2024, 6, number, tzinfo=UTC)


def things(*rows: tuple[str, str, int | None]) -> pa.Table:
    ids, notes, days = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "note": pa.array(notes, pa.string()),
            "updated": pa.array([day(d) for d in days], TIMESTAMP),
        }
    )


def stored(*rows: tuple[str, int | None]) -> pa.Table:
    ids, days = zip(*rows, strict=True) if rows else ((), ())
    return pa.table(
        {"id": pa.array(ids, pa.string()), "updated": pa.array([day(d) for d in days], TIMESTAMP)}
    )


def test_newest_row_per_key_is_kept():
    newest = keep_newest_per_key(things(("a", "old", 1), ("a", "new", 3), ("a", "middle", 2)), THINGS)

    assert newest.rows.column("note").to_pylist() == ["new"]
    assert newest.repeated == 2
    assert newest.examples == ["a"]


def test_on_equal_versions_the_later_line_wins():
    newest = keep_newest_per_key(things(("a", "first", 5), ("b", "other", 1), ("a", "second", 5)), THINGS)

    assert dict(
        zip(newest.rows.column("id").to_pylist(), newest.rows.column("note").to_pylist(), strict=True)
    ) == {
        "a": "second",
        "b": "other",
    }


def test_row_without_version_loses_to_a_row_with_one():
    newest = keep_newest_per_key(things(("a", "dated", 1), ("a", "undated", None)), THINGS)

    assert newest.rows.column("note").to_pylist() == ["dated"]


def test_unique_keys_are_kept_sorted_by_key_without_warning():
    newest = keep_newest_per_key(things(("c", "", 1), ("a", "", 1), ("b", "", 1)), THINGS)

    assert newest.rows.column("id").to_pylist() == ["a", "b", "c"]
    assert (newest.repeated, newest.examples) == (0, [])


def test_new_keys_are_inserted():
    plan = plan_merge(things(("a", "", 1), ("b", "", 1)), stored(("z", 1)), THINGS)

    assert (plan.inserted, plan.updated, plan.stale) == (2, 0, 0)
    assert plan.replaced_keys.to_pylist() == []
    assert plan.rows.num_rows == 2


def test_same_or_newer_version_replaces_the_stored_row():
    plan = plan_merge(things(("a", "", 2), ("b", "", 5)), stored(("a", 2), ("b", 4)), THINGS)

    assert (plan.inserted, plan.updated, plan.stale) == (0, 2, 0)
    assert sorted(plan.replaced_keys.to_pylist()) == ["a", "b"]


def test_older_version_is_stale_and_not_written():
    plan = plan_merge(things(("a", "older", 1), ("b", "new", 1)), stored(("a", 2)), THINGS)

    assert (plan.inserted, plan.updated, plan.stale) == (1, 0, 1)
    assert plan.rows.column("id").to_pylist() == ["b"]
    assert plan.replaced_keys.to_pylist() == []


def test_null_versions_order_below_any_version():
    incoming = things(("a", "", None), ("b", "", 1), ("c", "", None))

    plan = plan_merge(incoming, stored(("a", 1), ("b", None), ("c", None)), THINGS)

    assert sorted(plan.replaced_keys.to_pylist()) == ["b", "c"]
    assert plan.stale == 1


def test_empty_table_takes_every_row_as_insert():
    plan = plan_merge(things(("a", "", 1)), stored(), THINGS)

    assert (plan.inserted, plan.updated, plan.stale) == (1, 0, 0)


def test_data_type_without_version_always_replaces():
    unversioned = DataTypeSpec(name="things", fields=THINGS.fields, key="id")

    plan = plan_merge(things(("a", "", 1)), pa.table({"id": ["a"]}), unversioned)

    assert (plan.inserted, plan.updated, plan.stale) == (0, 1, 0)


def test_among_many_stored_rows_the_replaced_ones_keep_their_file():
    many = stored(*[(f"k{number:03}", 1) for number in range(200)])
    many = many.append_column("__file", pa.array([number // 50 for number in range(200)], pa.int32()))

    plan = plan_merge(things(("k120", "", 2), ("k007", "", None), ("new", "", 1)), many, THINGS)

    assert (plan.inserted, plan.updated, plan.stale) == (1, 1, 1)
    assert plan.replaced is not None
    assert plan.replaced.to_pylist() == [{"id": "k120", "updated": day(1), "__file": 2}]
