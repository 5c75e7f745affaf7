import re
from datetime import UTC, datetime, timedelta

from ingestion.identifiers import ULID_PATTERN, is_ulid, new_ulid, request_id_for_object

T0 = datetime(2024, 8, 20, 12, 53, 24, tzinfo=UTC)


def test_ids_are_26_lowercase_characters_safe_in_keys_and_table_names():
    identifier = new_ulid()
    assert re.fullmatch(ULID_PATTERN, identifier)
    assert is_ulid(identifier)


def test_ids_sort_in_creation_order():
    earlier = new_ulid(at=T0)
    later = new_ulid(at=T0 + timedelta(milliseconds=1))
    assert earlier < later


def test_ids_are_unique():
    assert len({new_ulid(at=T0) for _ in range(1000)}) == 1000


def test_dropped_file_request_id_is_derived_from_the_notification():
    first = request_id_for_object("bucket", "incoming/c/deals/a.csv", "0055AED6DCD90281E5", T0)
    again = request_id_for_object("bucket", "incoming/c/deals/a.csv", "0055AED6DCD90281E5", T0)
    assert first == again
    assert is_ulid(first)


def test_overwriting_a_dropped_file_makes_a_new_request():
    first = request_id_for_object("bucket", "incoming/c/deals/a.csv", "0055AED6DCD90281E5", T0)
    second = request_id_for_object("bucket", "incoming/c/deals/a.csv", "0055AED6DCD90281F9", T0)
    assert first != second


def test_malformed_ids_are_not_ulids():
    assert not is_ulid("../../etc/passwd")
    assert not is_ulid("01JD3K7Q9X0M5R2C8V4B6N1T3E")  # upper case is not how ids are issued
