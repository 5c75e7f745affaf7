"""Reading files: encodings, line breaks, quoting and the physical lines problems are reported on."""

from __future__ import annotations

import io

import pytest

from ingestion.dataplane.csv_reader import CsvStream, UnreadableFile
from ingestion.dataplane.encoding import first_non_utf8_line
from ingestion.dataplane.validation import validate_file
from ingestion.schemas.deals import DEALS


def validate(data: bytes, separator: str = ",", **options: int):
    return validate_file(
        lambda: io.BytesIO(data), DEALS, separator, max_errors=options.pop("max_errors", 100), **options
    )


def problems(result) -> list[tuple[int | None, str | None]]:
    return [(issue.line, issue.column) for issue in result.issues]


def test_utf8_bom_is_not_part_of_the_first_column_name(rows, write_csv):
    result = validate(b"\xef\xbb\xbf" + write_csv(rows))

    assert result.accepts()
    assert result.table.column("id").to_pylist() == ["1", "2", "3", "4", "5"]


def test_crlf_line_breaks_are_accepted(rows, write_csv):
    result = validate(write_csv(rows, line_break="\r\n"))

    assert result.accepts()
    assert result.table.column("lastSyncedAt").null_count == 0


def test_quoted_values_keep_separator_quotes_and_line_breaks(rows, write_csv):
    rows[0]["description"] = 'Renewal, "gold" tier\nsecond line\r\nthird line'

    result = validate(write_csv(rows))

    assert result.accepts()
    assert result.table.column("description")[0].as_py() == 'Renewal, "gold" tier\nsecond line\r\nthird line'


def test_error_lines_are_physical_lines_after_quoted_line_breaks(rows, write_csv):
    rows[0]["description"] = "one\ntwo\nthree"  # row 1 spans lines 2-4
    rows[2]["value"] = "lots"  # so row 3 starts on line 6

    result = validate(write_csv(rows))

    assert problems(result) == [(6, "value")]


def test_error_lines_count_blank_lines_that_are_skipped(rows, write_csv):
    data = write_csv(rows).replace(b"\n2,", b"\n\n\n2,")  # two blank lines before row 2
    rows_ok = validate(data)
    rows[1]["value"] = "-3"
    bad = write_csv(rows).replace(b"\n2,", b"\n\n\n2,")

    result = validate(bad)

    assert rows_ok.accepts()
    assert rows_ok.processed_lines == 5
    assert problems(result) == [(5, "value")]


def test_error_lines_stay_right_across_record_batches(rows, write_csv):
    many = [dict(rows[index % 5], id=str(index)) for index in range(400)]
    many[0]["description"] = "spans\ntwo lines"
    many[350]["numberOfMeetings"] = "many"

    result = validate(write_csv(many), block_size=4096)

    assert problems(result) == [(353, "numberOfMeetings")]


def test_semicolon_separated_file_is_read_with_its_separator(rows, write_csv):
    rows[0]["name"] = "Customer A, annual; supply"

    result = validate(write_csv(rows, separator=";"), separator=";")

    assert result.accepts()
    assert result.table.column("name")[0].as_py() == "Customer A, annual; supply"


def test_rows_with_wrong_number_of_fields_are_reported_on_their_lines(rows, write_csv):
    lines = write_csv(rows).split(b"\n")
    lines[2] = lines[2] + b",extra"
    lines[4] = b"4,only three,fields"

    result = validate(b"\n".join(lines))

    assert not result.accepts()
    assert [(issue.line, issue.column) for issue in result.issues] == [(3, None), (5, None)]
    assert "expected 35 fields" in result.issues[0].message
    assert "found 36" in result.issues[0].message
    assert result.issues[1].value == "4,only three,fields"
    assert result.processed_lines == 5


def test_file_that_is_not_utf8_is_refused_naming_the_line(rows, write_csv):
    data = write_csv(rows).replace(b"Oslo", "Malmö".encode("latin-1"))

    result = validate(data)

    assert not result.accepts()
    assert "not UTF-8" in result.message
    assert "line 2" in result.message
    assert problems(result) == [(2, None)]


def test_header_that_is_not_utf8_is_refused(rows, write_csv):
    data = "désignation,".encode("cp1252") + write_csv(rows)

    result = validate(data)

    assert not result.accepts()
    assert "not UTF-8" in result.message
    assert problems(result) == [(1, None)]


def test_invalid_utf8_in_a_malformed_row_is_reported_as_encoding(rows, write_csv):
    data = write_csv(rows) + b"6,caf\xe9\n"

    result = validate(data)

    assert "not UTF-8" in result.message
    assert problems(result) == [(7, None)]


def test_empty_file_has_no_data_rows():
    result = validate(b"")

    assert not result.accepts()
    assert result.message.startswith("the file has no data rows")
    assert "first line names the columns" in result.message


def test_header_only_file_has_no_data_rows(rows, write_csv):
    header = write_csv(rows).split(b"\n")[0] + b"\r\n\r\n"

    result = validate(header)

    assert not result.accepts()
    assert result.message.startswith("the file has no data rows")
    assert "Add at least one row" in result.message


@pytest.mark.parametrize("separator", ["", ",,", '"', "\n", "§"])
def test_separator_must_be_one_plain_character(separator):
    result = validate(b"id\n1\n", separator=separator)

    assert not result.accepts()
    assert "cannot be used" in result.message


def test_header_split_over_chunks_is_read_whole():
    names = [f"column{index:05d}" for index in range(10_000)]  # about 120 KiB of header
    data = (",".join(names) + "\r\n" + ",".join("x" * len(names)) + "\r\n").encode()

    with CsvStream(lambda: io.BytesIO(data), ",") as stream:
        batches = list(stream.batches())

    assert stream.header.names == tuple(names)
    assert sum(batch.num_rows for batch in batches) == 1


def test_quoted_line_break_in_header_at_a_chunk_boundary_is_read_whole():
    first = "a" * 65532  # the first chunk of 64 KiB ends just after the quoted line break
    data = f'{first},"x\ny",id\n1,2,3\n'.encode()

    with CsvStream(lambda: io.BytesIO(data), ",") as stream:
        rows = [batch.to_pylist() for batch in stream.batches()]

    assert stream.header.names == (first, "x\ny", "id")
    assert rows == [[{first: "1", "x\ny": "2", "id": "3"}]]


def test_header_without_line_break_in_one_megabyte_is_refused():
    with pytest.raises(UnreadableFile, match="longer than 1 MiB"):
        CsvStream(lambda: io.BytesIO(b"a" * (3 << 20)), ",")


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"ok\nok\r\nbad \xff\n", 3),
        (b"ok\rok\r\xc3", 3),
        (b"\xe2\x82\xac\n\xe2\x82", 2),
        (b"fine\n" * 3, None),
    ],
)
def test_first_non_utf8_line_counts_every_kind_of_line_break(data, line):
    assert first_non_utf8_line(lambda: io.BytesIO(data)) == line


def test_first_non_utf8_line_is_right_when_crlf_straddles_chunks():
    data = b"ab\r\ncd\r\nef\xff"

    assert first_non_utf8_line(lambda: io.BytesIO(data), chunk_size=3) == 3
