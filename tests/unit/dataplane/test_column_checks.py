"""Column checks: what each field type accepts, what it stores, and what it refuses."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.dataplane.column_checks import PYTHON_WHITESPACE, cell_parser, check_column
from ingestion.schemas.deals import DEALS
from ingestion.schemas.spec import FieldSpec, FieldType


def check(name: str, cells: list[str]):
    spec = DEALS.field(name)
    return check_column(spec, pa.array(cells, pa.string()), cell_parser(DEALS, spec))


def accepted(name: str, cells: list[str]) -> list[object]:
    result = check(name, cells)
    assert result.invalid.to_pylist() == [False] * len(cells)
    assert result.missing.to_pylist() == [False] * len(cells)
    return result.values.to_pylist()


def refused(name: str, cells: list[str]) -> list[bool]:
    return check(name, cells).invalid.to_pylist()


def test_integers_accept_signs_leading_zeros_and_zero_fractions():
    assert accepted("numberOfMeetings", ["10", "+3", "007", "2.0", " 4", "1_000"]) == [10, 3, 7, 2, 4, 1000]


def test_integers_refuse_fractions_words_negatives_and_more_than_64_bits():
    cells = ["1.5", "ten", "1e3", "-1", "9223372036854775808"]

    assert refused("numberOfMeetings", cells) == [True] * len(cells)


def test_integers_refuse_hex_which_a_cast_would_read():
    assert refused("numberOfMeetings", ["12", "0x10", "0X1F", "7"]) == [False, True, True, False]


def test_integers_without_a_bound_keep_their_sign_and_64_bits():
    spec = FieldSpec(name="delta", type=FieldType.INTEGER)
    cells = ["-12", "-007", "9223372036854775807", "-9223372036854775808", "-9223372036854775809"]

    result = check_column(spec, pa.array(cells))

    assert result.values.to_pylist() == [-12, -7, 2**63 - 1, -(2**63), None]
    assert result.invalid.to_pylist() == [False, False, False, False, True]


def test_numbers_accept_decimal_and_exponent_forms():
    assert accepted("value", ["1000.00", ".5", "5.", "1e3", "+2", " 7.25 ", "1_000.5"]) == [
        1000.0,
        0.5,
        5.0,
        1000.0,
        2.0,
        7.25,
        1000.5,
    ]


def test_numbers_refuse_words_negatives_and_non_finite_values():
    cells = ["abc", "-0.01", "inf", "nan", "1e400", "1,5"]

    assert refused("value", cells) == [True] * len(cells)


def test_booleans_accept_pydantic_words_in_any_case():
    cells = ["true", "FALSE", "Yes", "no", "ON", "off", "t", "F", "y", "N", "1", "0"]

    assert accepted("companyIsCustomer", cells) == [True, False] * 6


def test_booleans_refuse_other_words_and_padded_words():
    cells = ["maybe", " true", "true ", "2", "1.0", "vrai"]

    assert refused("companyIsCustomer", cells) == [True] * len(cells)


def test_datetime_without_zone_is_utc():
    assert accepted("creationDatetime", ["2024-05-01T08:00:00"]) == [datetime(2024, 5, 1, 8, tzinfo=UTC)]


def test_datetime_with_offset_is_stored_as_the_same_instant_in_utc():
    values = accepted("creationDatetime", ["2024-05-01T08:00:00+02:00", "2024-05-01 08:00:00.250-01:30"])

    assert values == [datetime(2024, 5, 1, 6, tzinfo=UTC), datetime(2024, 5, 1, 9, 30, 0, 250000, tzinfo=UTC)]


def test_datetime_date_alone_is_midnight_utc():
    assert accepted("creationDatetime", ["2024-05-01"]) == [datetime(2024, 5, 1, tzinfo=UTC)]


def test_datetime_spellings_the_model_accepts_beyond_the_fast_path_are_accepted():
    cells = ["2024-05-01T08:00:00+0200", "2024-05-01t08:00:00z", "2024-05-01T08:00:00.1234567"]

    assert accepted("creationDatetime", cells) == [
        datetime(2024, 5, 1, 6, tzinfo=UTC),
        datetime(2024, 5, 1, 8, tzinfo=UTC),
        datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC),
    ]


def test_unix_timestamps_are_not_iso_8601_and_are_refused():
    result = check("creationDatetime", ["1700000000"])

    assert result.invalid.to_pylist() == [True]


def test_impossible_datetime_is_refused_and_its_neighbours_still_accepted():
    result = check("creationDatetime", ["2024-02-28T10:00:00", "2024-02-30T10:00:00", "2024-03-01"])

    assert result.invalid.to_pylist() == [False, True, False]
    assert result.values.to_pylist() == [
        datetime(2024, 2, 28, 10, tzinfo=UTC),
        None,
        datetime(2024, 3, 1, tzinfo=UTC),
    ]


def test_datetimes_outside_what_python_can_hold_are_refused():
    cells = ["0000-01-01T00:00:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "yesterday"]

    assert refused("creationDatetime", cells) == [True] * len(cells)


def test_year_zero_is_refused_even_when_its_offset_moves_it_into_year_one():
    cells = ["0000-12-31T23:00:00-01:00", "0001-01-01T00:00:00", "0000-12-31T23:59:59.999999-00:01"]

    assert refused("creationDatetime", cells) == [True, False, True]


def test_an_hour_without_minutes_is_refused_with_or_without_a_zone():
    cells = ["2024-06-18T12", "2024-06-18T12Z", "2024-06-18 12+01:00", "2024-06-18T12:00"]

    assert refused("creationDatetime", cells) == [True, True, True, False]


def test_a_zone_of_hours_alone_is_refused():
    cells = ["2024-06-18T12:30:45+01", "2024-06-18T12:30:45+01:00", "2024-06-18T12:30:45+0100"]

    assert refused("creationDatetime", cells) == [True, False, False]


def test_one_unreadable_cell_among_many_leaves_only_its_neighbours_to_the_parser():
    spec = DEALS.field("creationDatetime")
    cells = [f"2024-06-{day:02d}T12:30:45" for day in range(1, 29)] * 100
    cells[1234] = "2024-02-30T10:00:00"
    parsed_one_by_one: list[str] = []
    parse = cell_parser(DEALS, spec)

    def recorded_parse(cell: str) -> object:
        parsed_one_by_one.append(cell)
        return parse(cell)

    result = check_column(spec, pa.array(cells), recorded_parse)

    assert "2024-02-30T10:00:00" in parsed_one_by_one
    assert len(parsed_one_by_one) < 64  # a small piece of the column around it, not the column
    assert pc.sum(result.invalid).as_py() == 1
    assert result.values[1235].as_py() == datetime(2024, 6, 1235 % 28 + 1, 12, 30, 45, tzinfo=UTC)


def test_a_column_cut_from_a_longer_one_is_checked_the_same():
    cells = ["", "2024-06-18T12:30:45", "2024-06-18T12:30:45+02:00", "x", "2024-06-18", "2024-06-18T12Z"]
    spec = DEALS.field("addDatetime")
    whole = check_column(spec, pa.array(["pad", *cells]), cell_parser(DEALS, spec))

    cut = check_column(spec, pa.array(["pad", *cells]).slice(1), cell_parser(DEALS, spec))

    assert cut.values.to_pylist() == whole.values.to_pylist()[1:]
    assert cut.invalid.to_pylist() == whole.invalid.to_pylist()[1:]


def test_dates_accept_iso_dates_and_refuse_impossible_ones():
    spec = FieldSpec(name="day", type=FieldType.DATE)

    result = check_column(spec, pa.array(["2024-06-18", "2024-02-30", "0000-01-01", "2024-06-18T00:00:00"]))

    assert result.invalid.to_pylist() == [False, True, True, False]
    assert result.values.to_pylist() == [date(2024, 6, 18), None, None, date(2024, 6, 18)]


def test_string_list_is_split_trimmed_and_empty_items_dropped():
    values = accepted("companyTechnologies", ["AI;Machine Learning;Web", " a ;; b ;\u3000", " ; "])

    assert values == [["AI", "Machine Learning", "Web"], ["a", "b"], []]


def test_allowed_values_are_exact_and_case_sensitive():
    assert refused("status", ["open", "Open", "closed", "closed_won "]) == [False, True, True, True]


def test_empty_required_cell_is_missing_not_invalid():
    result = check("value", ["", "10"])

    assert result.missing.to_pylist() == [True, False]
    assert result.invalid.to_pylist() == [False, False]


def test_empty_optional_cells_become_null_for_every_type():
    optional = ["description", "numberOfMeetings", "companyRevenue", "companyIsCustomer", "closedDatetime"]

    for name in [*optional, "companyTechnologies"]:
        result = check(name, [""])
        assert result.values.to_pylist() == [None], name
        assert result.missing.to_pylist() == [False], name
        assert result.invalid.to_pylist() == [False], name


def test_whitespace_only_text_is_a_value_not_an_empty_cell():
    assert accepted("id", [" "]) == [" "]


def test_type_without_a_model_uses_pydantic_lax_parsing():
    spec = FieldSpec(name="amount", type=FieldType.INTEGER, ge=10)

    result = check_column(spec, pa.array(["12", "1_2", "9", "x"]))

    assert result.values.to_pylist() == [12, 12, None, None]
    assert result.invalid.to_pylist() == [False, False, True, True]


def test_list_items_are_trimmed_of_exactly_what_python_strip_removes():
    expected = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())

    assert sorted(PYTHON_WHITESPACE) == sorted(expected)


COMMON_SPELLINGS = {
    FieldType.DATETIME: [
        "2024-06-18 12:30:45+02:00",
        "2024-06-18T12:30:45-05:00",
        "2024-06-18T12:30Z",
        "2024-06-18",
        "2024-06-18T12:30:45.123456Z",
    ],
    FieldType.INTEGER: ["7.0", "+3", "-0", "0012"],
    FieldType.NUMBER: ["7.0", "-0", ".5", "1e3", "+2.5"],
    FieldType.BOOLEAN: ["TRUE", "no", "1", "Off"],
}


def test_common_spellings_never_leave_the_vectorised_path(rows):
    parsed_one_by_one: list[str] = []

    for spec in DEALS.fields:
        cells = [row[spec.name] for row in rows] + COMMON_SPELLINGS.get(spec.type, [])
        result = check_column(spec, pa.array(cells), parsed_one_by_one.append)

        assert not pc.any(result.invalid).as_py(), spec.name
    assert parsed_one_by_one == []
