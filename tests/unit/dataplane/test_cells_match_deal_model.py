"""Property tests: the vectorised engine agrees with the ``Deal`` model, cell by cell.

For every kind of field, cells are drawn from the forms customers write, near misses and
arbitrary text; each row is the API's sample row with that one cell replaced. The engine
must refuse a row exactly when ``Deal.model_validate`` refuses it (row rules included),
and store exactly the value the model produces. The two documented exceptions are values
storage cannot hold: non-finite numbers and whole numbers beyond 64 bits, which the
model's lax mode accepts and the engine refuses.

The engine casts whole columns first and fails over piece by piece when a cast fails, so
the same agreement is also checked in long columns where a few odd cells sit among many
usual ones, and for declared data types (no model: pydantic's lax parser for the type,
which also covers dates and negative numbers).
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from ingestion.dataplane.batch_checks import check_rows
from ingestion.dataplane.column_checks import check_column
from ingestion.dataplane.validation import validate_file
from ingestion.schemas.deals import DEALS, Deal
from ingestion.schemas.spec import FieldSpec, FieldType

SAMPLE = Path(__file__).resolve().parents[3] / "events" / "deals.csv"
BASE_ROWS = list(csv.DictReader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))
INT64 = (-(2**63), 2**63 - 1)


def padded(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    space = st.sampled_from(["", "", "", " ", "\t", "\u00a0", "\n"])
    return st.tuples(space, text, space).map("".join)


def any_case(words: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(words).flatmap(
        lambda word: st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
            lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
        )
    )


INTEGERS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.integers(0, 10**6).map(lambda n: f"{n}.0"),
    st.from_regex(r"\A[+-]?[0-9_]{0,21}(\.[0-9]{0,3})?\Z"),
    padded(st.integers(-100, 100).map(str)),
    st.floats().map(str),
    # Leading zeros (Arrow skips any number of them), and the edges of 64 bits.
    st.builds(
        "{}{}{}".format, st.sampled_from(["", "-", "+"]), st.text("0", max_size=30), st.integers(0, 10**6)
    ),
    st.integers(2**63 - 3, 2**63 + 2).flatmap(lambda n: st.sampled_from([str(n), f"-{n}", f"0{n}"])),
    # Arrow reads hex; the model does not.
    st.builds("0{}{:x}".format, st.sampled_from("xX"), st.integers(0, 2**64)),
    st.sampled_from(["1_000", "+-1", "0x10", "-0x10", "0x", "--5", "-", "1e3", "00", "-0", "+0.00"]),
    st.sampled_from(["\u0661\u0662", "\uff11\uff12"]),  # Arabic-Indic and fullwidth digits
    st.text(max_size=6),
)
NUMBERS = st.one_of(
    st.floats().map(repr),
    st.floats(allow_nan=False).map(lambda f: f"{f:.4e}"),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"\A[+-]?[0-9_]{0,8}\.?[0-9_]{0,4}([eE][+-]?[0-9]{1,3})?\Z"),
    # Everything Arrow's float parser reads is made of these: long mantissas, far exponents.
    st.from_regex(r"\A[+-]?[0-9]{0,40}\.?[0-9]{0,40}([eE][+-]?[0-9]{1,5})?\Z"),
    st.builds("{}{}".format, st.sampled_from(["", "-", "+"]), any_case(["inf", "infinity", "nan"])),
    padded(st.floats(0, 1e6).map(str)),
    st.sampled_from(["inf", "-Infinity", "nan", "1e400", "4.9e-324", ".", "-0", "1,5", "\uff11", "9" * 400]),
    st.sampled_from([".5", "5.", "-.5", "+.5", "1.e5", "1E+05", "e5", "1e", ".e1", "0x1p3", "1d", "00.5"]),
    st.text(max_size=6),
)
BOOLEANS = st.one_of(
    any_case(["true", "false", "yes", "no", "on", "off", "t", "f", "y", "n", "1", "0"]),
    padded(st.sampled_from(["true", "0"])),
    st.sampled_from(["2", "1.0", "ja", "oui", "tr ue", "K", "İ"]),
    st.text(max_size=5),
)


def iso_datetimes() -> st.SearchStrategy[str]:
    moment = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
    zone = st.one_of(
        st.sampled_from(["", "", "Z", "z", "+00:00", "-00:00", "+01", "+24:00", "UTC"]),
        st.builds(
            lambda sign, hours, minutes, colon: f"{sign}{hours:02d}{colon}{minutes:02d}",
            st.sampled_from("+-"),
            st.integers(0, 25),
            st.integers(0, 61),
            st.sampled_from([":", ":", ""]),
        ),
    )
    separator = st.sampled_from(["T", "T", " ", "t", "_", "x"])
    # An hour alone ("2024-06-18T12") is ISO 8601 and Arrow reads it; the model does not.
    precision = st.sampled_from(
        ["hours", "minutes", "seconds", "milliseconds", "microseconds", "date", "date"]
    )

    def render(value: datetime, sep: str, spec: str, tz: str, extra: str) -> str:
        if spec == "date":
            return value.date().isoformat() + (tz if extra == "" else "")
        return value.isoformat(sep=sep, timespec=spec) + extra + tz

    return st.builds(render, moment, separator, precision, zone, st.sampled_from(["", "", "1", "123", ","]))


def edges_of_time() -> st.SearchStrategy[str]:
    """The first and last days Python can hold, and year 0, which it cannot, with far offsets."""
    day = st.sampled_from(["0000-12-31", "0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30"])
    time = st.sampled_from(["00:00", "00:30:00", "12:00:00", "23:00:00", "23:59:59.999999", "23:30"])
    zone = st.sampled_from(
        ["", "Z", "+00:00", "-00:01", "+00:30", "-01:00", "+23:59", "-23:59", "-0100", "+01"]
    )
    return st.builds("{}T{}{}".format, day, time, zone)


DATETIMES = st.one_of(
    iso_datetimes(),
    edges_of_time(),
    st.from_regex(
        r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{0,8})?)?)?Z?\Z"
    ),
    st.integers(-(10**11), 10**11).map(str),
    st.sampled_from(["2024-02-29T00:00:00", "2023-02-29", "2024-06-18T24:00:00", "0000-01-01", "now"]),
    padded(st.just("2024-06-18T12:30:45")),
    st.text(max_size=10),
)
STRING_LISTS = st.one_of(
    st.text(alphabet=st.sampled_from([*"ab ;\t,", "\u3000", "\x1c", "\u200b", "\x85", "é"]), max_size=14),
    st.text(max_size=10),
)
STATUSES = st.one_of(
    st.sampled_from(["open", "closed_won", "closed_lost", "Open", "closed", ""]), st.text(max_size=6)
)
TEXTS = st.text(max_size=12)

CELLS: dict[FieldType, st.SearchStrategy[str]] = {
    FieldType.INTEGER: INTEGERS,
    FieldType.NUMBER: NUMBERS,
    FieldType.BOOLEAN: BOOLEANS,
    FieldType.DATETIME: DATETIMES,
    FieldType.STRING_LIST: STRING_LISTS,
    FieldType.STRING: TEXTS,
}


def model_verdict(row: dict[str, str], name: str) -> tuple[bool, Any]:
    """(accepted, stored value) as the engine should see it, from the model itself."""
    try:
        value = getattr(Deal.model_validate(row), name)
    except Exception:  # the model may raise more than ValidationError (OverflowError on far dates)
        return False, None
    if isinstance(value, float) and not math.isfinite(value):
        return False, None
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return False, None
    return True, value


def engine_verdicts(base: dict[str, str], name: str, cells: list[str]) -> tuple[list[bool], list[Any]]:
    columns = {column: [base[column]] * len(cells) for column in DEALS.field_names}
    columns[name] = cells
    typed, bad = check_rows(DEALS, pa.RecordBatch.from_pydict(columns))
    return [not refused for refused in bad.to_pylist()], typed.column(name).to_pylist()


@pytest.mark.parametrize("field_type", list(CELLS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_accepts_a_cell_exactly_when_the_model_does(field_type: FieldType, data: st.DataObject):
    field = data.draw(st.sampled_from([f for f in DEALS.fields if f.type is field_type]), label="field")
    strategy = STATUSES if field.allowed else CELLS[field_type]
    base = data.draw(st.sampled_from(BASE_ROWS), label="row")
    cells = data.draw(st.lists(strategy, min_size=1, max_size=12), label="cells")

    accepted, values = engine_verdicts(base, field.name, cells)

    for cell, engine_accepts, engine_value in zip(cells, accepted, values, strict=True):
        model_accepts, model_value = model_verdict({**base, field.name: cell}, field.name)
        assert engine_accepts == model_accepts, f"{field.name}={cell!r}"
        if model_accepts:
            assert engine_value == model_value, f"{field.name}={cell!r}"
            assert type(engine_value) is type(model_value) or isinstance(model_value, datetime)


def test_engine_agrees_on_far_offsets_and_the_edges_of_time():
    cells = [
        "0001-01-01T00:30:00+00:30",
        "9999-12-31T23:59:59.999999",
        "9999-12-31T23:59:59-00:01",
        # Year 0 moved into year 1 by its offset: an instant Python holds, a date it cannot read.
        "0000-12-31T23:00:00-01:00",
        "0000-12-31T23:59:59.999999-00:01",
    ]
    base = BASE_ROWS[0]

    accepted, values = engine_verdicts(base, "lastSyncedAt", cells)

    assert [model_verdict({**base, "lastSyncedAt": cell}, "lastSyncedAt") for cell in cells] == list(
        zip(accepted, values, strict=True)
    )
    assert values[1] - values[0] > timedelta(days=3_000_000)
    assert accepted[3:] == [False, False]


# What fills a long column, as exports write it: the spellings the engine casts in one go.
USUAL: dict[FieldType, st.SearchStrategy[str]] = {
    FieldType.INTEGER: st.integers(0, 10**6).map(str),
    FieldType.NUMBER: st.floats(0, 1e6).map(lambda number: f"{number:.2f}"),
    FieldType.BOOLEAN: st.sampled_from(["true", "false", "TRUE", "0", "1"]),
    FieldType.DATETIME: st.builds(
        lambda moment, spelling: moment.isoformat(timespec="seconds") + spelling,
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),
        st.sampled_from(["", "", "Z", ".250Z", "+02:00", "-05:00"]),
    ),
    FieldType.DATE: st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)).map(str),
}


def long_column(data: st.DataObject, field_type: FieldType, odd: st.SearchStrategy[str]) -> list[str]:
    """Hundreds to thousands of usual cells, with a few odd ones anywhere among them."""
    length = data.draw(st.integers(600, 3000), label="length")
    usual = data.draw(st.lists(USUAL[field_type], min_size=1, max_size=4, unique=True), label="usual")
    cells = [usual[index % len(usual)] for index in range(length)]
    for cell in data.draw(st.lists(odd, min_size=1, max_size=8), label="odd cells"):
        cells[data.draw(st.integers(0, length - 1))] = cell
    return cells


@pytest.mark.parametrize("field_type", [kind for kind in USUAL if kind is not FieldType.DATE])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_engine_agrees_in_long_columns_where_odd_cells_are_few(field_type: FieldType, data: st.DataObject):
    field = data.draw(st.sampled_from([f for f in DEALS.fields if f.type is field_type]), label="field")
    base = data.draw(st.sampled_from(BASE_ROWS), label="row")
    cells = long_column(data, field_type, CELLS[field_type])

    accepted, values = engine_verdicts(base, field.name, cells)

    verdicts = {cell: model_verdict({**base, field.name: cell}, field.name) for cell in set(cells)}
    for cell, engine_accepts, engine_value in zip(cells, accepted, values, strict=True):
        model_accepts, model_value = verdicts[cell]
        assert engine_accepts == model_accepts, f"{field.name}={cell!r}"
        if model_accepts:
            assert engine_value == model_value, f"{field.name}={cell!r}"


DECLARED_TYPES: dict[FieldType, type] = {
    FieldType.INTEGER: int,
    FieldType.NUMBER: float,
    FieldType.BOOLEAN: bool,
    FieldType.DATETIME: datetime,
    FieldType.DATE: date,
}
DATES = st.one_of(
    st.dates().map(str),
    iso_datetimes(),
    edges_of_time(),
    st.from_regex(r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\Z"),
    st.sampled_from(["0000-01-01", "2024-02-30", "2023-02-29", "2024-06-18T00:00:00", "20240618"]),
    st.text(max_size=10),
)
DECLARED_CELLS = {**{kind: CELLS[kind] for kind in DECLARED_TYPES if kind in CELLS}, FieldType.DATE: DATES}


def pydantic_verdict(field_type: FieldType, cell: str) -> tuple[bool, Any]:
    """(accepted, stored value) for a declared type: pydantic's lax parser, stored as storage can."""
    try:
        value = TypeAdapter(DECLARED_TYPES[field_type]).validate_python(cell)
    except ValidationError:
        return False, None
    if isinstance(value, float) and not math.isfinite(value):
        return False, None
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return False, None
    if isinstance(value, datetime):
        try:  # no zone means UTC
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            return False, None
    return True, value


@pytest.mark.parametrize("field_type", list(DECLARED_TYPES))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_declared_types_accept_a_cell_exactly_when_pydantic_does(field_type: FieldType, data: st.DataObject):
    odd = DECLARED_CELLS[field_type]
    if data.draw(st.booleans(), label="long column"):
        cells = long_column(data, field_type, odd)
    else:
        cells = data.draw(st.lists(odd, min_size=1, max_size=12), label="cells")
    spec = FieldSpec(name="declared", type=field_type)

    result = check_column(spec, pa.array(cells, pa.string()))

    verdicts = {cell: pydantic_verdict(field_type, cell) for cell in set(cells) if cell != ""}
    outcomes = zip(cells, result.invalid.to_pylist(), result.values.to_pylist(), strict=True)
    for cell, invalid, value in outcomes:
        if cell == "":
            assert (invalid, value) == (False, None)
            continue
        accepts, expected = verdicts[cell]
        assert (not invalid) == accepts, f"{field_type}: {cell!r}"
        if accepts:
            assert value == expected, f"{field_type}: {cell!r}"
            assert type(value) is type(expected), f"{field_type}: {cell!r}"


FREE_TEXT = st.text(alphabet=st.sampled_from([*'ab ,;"\n\r\t', "é", "\u2028"]), min_size=1, max_size=12)


@settings(max_examples=120, deadline=None)
@given(
    names=st.lists(FREE_TEXT, min_size=1, max_size=8),
    descriptions=st.lists(FREE_TEXT, min_size=8, max_size=8),
)
def test_quoted_text_with_separators_quotes_and_line_breaks_round_trips(names, descriptions):
    rows = [
        dict(BASE_ROWS[0], id=str(i), name=name, description=descriptions[i]) for i, name in enumerate(names)
    ]

    result = validate_file(lambda: io.BytesIO(write(rows)), DEALS, ",", max_errors=10)

    assert result.accepts(), result.message
    assert result.table.column("name").to_pylist() == names
    assert result.table.column("description").to_pylist() == descriptions[: len(names)]


@settings(max_examples=120, deadline=None)
@given(
    names=st.lists(FREE_TEXT, min_size=1, max_size=8),
    bad_row=st.integers(0, 7),
    blank_lines=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_reported_line_is_where_the_bad_row_starts(names, bad_row, blank_lines):
    rows = [dict(BASE_ROWS[0], id=str(i), name=name) for i, name in enumerate(names)]
    bad_row %= len(rows)
    rows[bad_row]["value"] = "not a number"
    header, *records = split_records(rows)
    text = header
    start_line = None
    for index, record in enumerate(records):
        if blank_lines[index]:
            text += "\n"
        if index == bad_row:
            start_line = line_count(text) + 1
        text += record

    result = validate_file(lambda: io.BytesIO(text.encode()), DEALS, ",", max_errors=10)

    assert [(issue.line, issue.column) for issue in result.issues] == [(start_line, "value")]


def write(rows: list[dict[str, str]]) -> bytes:
    return "".join(split_records(rows)).encode()


def split_records(rows: list[dict[str, str]]) -> list[str]:
    """The header and each row as Python's csv module writes them, one string per record.

    Records end in "\r\n" or "\n" by turns; the writer is told "\r\n" so that it quotes
    values holding either character.
    """
    records = []
    for index, row in enumerate([dict(zip(rows[0], rows[0], strict=True)), *rows]):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(row.values())
        records.append(buffer.getvalue() if index % 2 else buffer.getvalue()[:-2] + "\n")
    return records


def line_count(text: str) -> int:
    """Physical lines as an editor counts them: "\\n", "\\r\\n" and "\\r" each end one."""
    return len(io.StringIO(text, newline="").readlines())
