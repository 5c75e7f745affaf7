"""The benchmark's synthetic deals: deterministic, valid, and increments shaped as the issue says."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from bench.synthetic_deals import BLOCK, DealHistory, csv_bytes, deal_id, increment_rows, recent_window
from ingestion.schemas.deals import Deal

HISTORY_SIZE = 30_000
COLLECTION_ROWS = 20_000


def parsed(data: bytes) -> list[dict[str, str]]:
    """The rows of a generated file as a CSV reader sees them (quotes and line breaks undone)."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def increment_file(history: DealHistory, *, size: int, round_number: int) -> bytes:
    """An increment into a collection of the history's first ``COLLECTION_ROWS`` deals."""
    rows = increment_rows(
        history,
        collection_rows=COLLECTION_ROWS,
        first_new=COLLECTION_ROWS,
        size=size,
        round_number=round_number,
    )
    return csv_bytes(rows)


@pytest.fixture(scope="module")
def history() -> DealHistory:
    return DealHistory(seed=7, size=HISTORY_SIZE)


@pytest.fixture(scope="module")
def increment(history: DealHistory) -> list[dict[str, str]]:
    return parsed(increment_file(history, size=1_000, round_number=0))


def test_same_seed_gives_the_same_bytes():
    first = csv_bytes(DealHistory(seed=7, size=HISTORY_SIZE).deals(0, 2_000))
    again = csv_bytes(DealHistory(seed=7, size=HISTORY_SIZE).deals(0, 2_000))

    assert first == again


def test_another_seed_gives_other_bytes():
    assert csv_bytes(DealHistory(seed=7, size=HISTORY_SIZE).deals(0, 100)) != csv_bytes(
        DealHistory(seed=8, size=HISTORY_SIZE).deals(0, 100)
    )


def test_a_deal_is_the_same_however_the_rows_are_asked_for(history):
    across_a_block = list(history.deals(BLOCK - 10, BLOCK + 10))

    assert across_a_block == list(history.deals(BLOCK - 10, BLOCK)) + list(history.deals(BLOCK, BLOCK + 10))


def test_increments_of_the_same_round_are_the_same_bytes(history):
    first = increment_file(history, size=500, round_number=3)
    again = increment_file(history, size=500, round_number=3)

    assert first == again


def test_every_generated_row_is_a_valid_deal(history, increment):
    rows = parsed(csv_bytes(history.deals(0, 5_000))) + increment

    for row in rows:
        Deal.model_validate(row)  # raises on the first invalid row


def test_descriptions_hold_commas_quotes_and_line_breaks_sometimes(history):
    descriptions = [row["description"] for row in parsed(csv_bytes(history.deals(0, 5_000)))]

    assert any("," in text for text in descriptions)
    assert any('"' in text for text in descriptions)
    assert any("\n" in text for text in descriptions)
    assert any(text == "" for text in descriptions)


def test_closed_deals_and_only_they_have_a_closed_datetime(history):
    rows = parsed(csv_bytes(history.deals(0, 5_000)))

    assert {row["status"] for row in rows} == {"open", "closed_won", "closed_lost"}
    assert all((row["closedDatetime"] != "") == (row["status"] != "open") for row in rows)


def test_half_of_an_increment_updates_recent_deals_of_the_collection(history, increment):
    recent = {deal_id(index) for index in recent_window(COLLECTION_ROWS, len(increment) // 2)}

    updates = [row for row in increment if row["id"] in recent]

    assert len(updates) == len(increment) // 2
    assert len({row["id"] for row in updates}) == len(updates)


def test_updates_are_newer_than_the_stored_deals(history, increment):
    recent = recent_window(COLLECTION_ROWS, len(increment) // 2)
    stored = {row["id"]: row for row in history.deals(recent.start, recent.stop)}

    updates = [row for row in increment if row["id"] in stored]

    assert len(updates) == len(increment) // 2
    for row in updates:
        before, after = Deal.model_validate(stored[row["id"]]), Deal.model_validate(row)
        assert after.lastUpdateDatetime > before.lastUpdateDatetime
        assert after.creationDatetime == before.creationDatetime


def test_the_other_half_of_an_increment_is_new_deals(history, increment):
    collection = {deal_id(index) for index in range(COLLECTION_ROWS)}

    new = [row["id"] for row in increment if row["id"] not in collection]

    assert len(new) == len(increment) - len(increment) // 2
    assert len(set(new)) == len(new)


def test_ids_grow_with_creation_time(history):
    rows = list(history.deals(0, 1_000))

    assert [int(row["id"]) for row in rows] == sorted(int(row["id"]) for row in rows)
    created = [datetime.fromisoformat(row["creationDatetime"].replace("Z", "+00:00")) for row in rows]
    assert [c.replace(tzinfo=None) for c in created] == sorted(c.replace(tzinfo=None) for c in created)
