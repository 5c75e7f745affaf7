"""Which format a file is read as, gzip, the 'auto' separator, and UTF-8 in every format."""

from __future__ import annotations

import gzip
import io
import json
import random

import pytest

from ingestion.dataplane.csv_reader import CsvStream
from ingestion.dataplane.csv_records import detect_separator
from ingestion.dataplane.formats import UploadedFile, sniff_format
from ingestion.dataplane.validation import validate_file
from ingestion.domain import FileFormat, IngestOptions
from ingestion.schemas.deals import DEALS


def validate(data: bytes, separator: str = ",", **options: object):
    return validate_file(
        lambda: io.BytesIO(data), DEALS, separator, max_errors=100, options=IngestOptions(**options)
    )


def as_json_rows(rows: list[dict[str, str]]) -> list[dict[str, str | None]]:
    """The sample rows as JSON objects: empty cells become null."""
    return [{key: value or None for key, value in row.items()} for row in rows]


def ndjson(rows: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def detected(data: bytes, **options: object) -> FileFormat:
    with UploadedFile(lambda: io.BytesIO(data), IngestOptions(**options)) as upload:
        return upload.format


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"file_format": FileFormat.NDJSON, "file_name": "x.csv"}, FileFormat.NDJSON),
        ({"file_name": "export.JSON", "content_type": "text/csv"}, FileFormat.JSON),
        ({"file_name": "export.jsonl"}, FileFormat.NDJSON),
        ({"file_name": "export.ndjson.gz"}, FileFormat.NDJSON),
        ({"file_name": "dir/export.tsv"}, FileFormat.CSV),
        ({"file_name": "upload.bin", "content_type": "application/x-ndjson"}, FileFormat.NDJSON),
        ({"content_type": "application/json; charset=utf-8"}, FileFormat.JSON),
        ({"content_type": "application/octet-stream"}, FileFormat.CSV),
    ],
)
def test_format_comes_from_option_then_name_then_content_type(options, expected):
    assert detected(b"id,name\n1,a\n", **options) is expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'  [{"id": "1"}]', FileFormat.JSON),
        (b'{"rows": [\n{"id": "1"}]}', FileFormat.JSON),
        (b'{\n  "rows": []\n}', FileFormat.JSON),
        (b'{"id": "1"}\n{"id": "2"}\n', FileFormat.NDJSON),
        (b'\xef\xbb\xbf{"id": "1"}\r\n\r\n{"id": "2"}', FileFormat.NDJSON),
        (b'{"id": "1"}', FileFormat.JSON),
        (b"id,name\n", FileFormat.CSV),
        (b"", FileFormat.CSV),
    ],
)
def test_first_bytes_decide_the_format_when_nothing_else_does(head, expected):
    assert sniff_format(head) is expected


def test_gzip_is_recognised_by_its_magic_bytes_whatever_the_name(rows, write_csv):
    result = validate(gzip.compress(write_csv(rows)), file_name="deals.csv")

    assert result.accepts()
    assert result.table.num_rows == 5


@pytest.mark.parametrize("file_format", ["csv", "json", "ndjson"])
def test_gzip_of_every_format_is_read_without_options(rows, write_csv, file_format):
    data = {
        "csv": write_csv(rows),
        "json": json.dumps(as_json_rows(rows)).encode(),
        "ndjson": ndjson(as_json_rows(rows)),
    }[file_format]

    result = validate(gzip.compress(data))

    assert result.file_format is FileFormat(file_format)
    assert result.accepts(), result.message
    assert result.table.column("id").to_pylist() == ["1", "2", "3", "4", "5"]


def test_gzip_error_lines_are_lines_of_the_decompressed_file(rows, write_csv):
    rows[3]["value"] = "oops"

    result = validate(gzip.compress(write_csv(rows)), file_name="deals.csv.gz")

    assert [(issue.line, issue.column) for issue in result.issues] == [(5, "value")]


def test_truncated_gzip_is_refused_saying_so(rows, write_csv):
    data = gzip.compress(write_csv(rows * 50))

    result = validate(data[: len(data) // 2])

    assert not result.accepts()
    assert "cannot be decompressed" in result.message


def test_gzip_is_decompressed_while_it_is_read():
    # Incompressible (but seeded) cells: the gzip stream is ~17 MB, far more than the few MiB of
    # read-ahead buffers, so reading it whole before the first batch could not pass.
    randomness = random.Random(7)
    lines = (b"%d,%s\n" % (index, randomness.randbytes(32).hex().encode()) for index in range(400_000))
    data = gzip.compress(b"id,blob\n" + b"".join(lines), compresslevel=1)
    source = io.BytesIO(data)

    with UploadedFile(lambda: source) as upload, CsvStream(upload.open, ",", block_size=1 << 16) as stream:
        first = next(stream.batches())

        assert first.num_rows > 0
        assert source.tell() < len(data) // 3


@pytest.mark.parametrize(("separator", "shown"), [(";", "';'"), ("\t", "'\\t'"), ("|", "'|'"), (",", "','")])
def test_auto_separator_is_detected_and_named_in_a_warning(rows, write_csv, separator, shown):
    rows[0]["name"] = "Customer A, annual; supply | pipes"

    result = validate(write_csv(rows, separator=separator), separator="auto")

    assert result.accepts(), result.message
    assert result.warnings == [f"separator 'auto': detected {shown}"]
    assert result.table.column("name")[0].as_py() == "Customer A, annual; supply | pipes"


def test_auto_separator_is_not_fooled_by_colons_in_times():
    sample = b"id;at;note\n1;2024-06-18T12:30:45;a:b:c\n2;2024-06-18T12:30:46;d\n"

    assert detect_separator(sample, complete=True) == ";"


def test_auto_separator_prefers_the_one_every_line_agrees_with():
    sample = b"a,b;c\n1,2;3\n4,5;6,7\n"

    assert detect_separator(sample, complete=True) == ";"


def test_auto_separator_of_one_column_files_is_none():
    assert detect_separator(b"id\n1\n2\n", complete=True) is None


@pytest.mark.parametrize("file_format", ["csv", "json", "ndjson"])
def test_file_that_is_not_utf8_is_refused_in_every_format(rows, write_csv, file_format):
    rows[1]["companyCity"] = "Malmö"
    data = {
        "csv": write_csv(rows),
        "json": json.dumps(as_json_rows(rows), ensure_ascii=False).encode(),
        "ndjson": "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in as_json_rows(rows)).encode(),
    }[file_format]
    latin1 = data.replace("Malmö".encode(), "Malmö".encode("latin-1"))

    result = validate(latin1, file_format=FileFormat(file_format))

    assert not result.accepts()
    assert "not UTF-8" in result.message


def test_ndjson_that_is_not_utf8_names_the_line(rows):
    data = ndjson(as_json_rows(rows)).replace(b"Oslo", "Malmö".encode("latin-1"))

    result = validate(data, file_name="deals.ndjson")

    assert [issue.line for issue in result.issues] == [data[: data.index(b"Malm")].count(b"\n") + 1]


def test_gzipped_file_that_is_not_utf8_is_refused(rows, write_csv):
    data = write_csv(rows).replace(b"Oslo", "Malmö".encode("latin-1"))

    result = validate(gzip.compress(data))

    assert "not UTF-8" in result.message
    assert [issue.line for issue in result.issues] == [2]


@pytest.mark.parametrize("compress", [gzip.compress, bytes], ids=["gzip", "plain"])
def test_a_file_larger_than_the_limit_once_decompressed_is_refused_saying_so(rows, write_csv, compress):
    data = write_csv(rows * 400)

    result = validate_file(
        lambda: io.BytesIO(compress(data)), DEALS, ",", max_errors=100, max_bytes=len(data) - 1
    )

    assert not result.accepts()
    assert f"larger than {len(data) - 1:,} bytes" in result.message
    assert ("once decompressed" in result.message) == (compress is gzip.compress)


def test_a_gzip_bomb_is_refused_once_it_inflates_past_the_limit(rows, write_csv):
    header, row = write_csv(rows).split(b"\n")[:2]
    bomb = gzip.compress(header + b"\n" + (row + b"\n") * 200_000)  # ~100 MB inflated, ~0.3 MB

    result = validate_file(lambda: io.BytesIO(bomb), DEALS, ",", max_errors=100, max_bytes=1 << 20)

    assert not result.accepts()
    assert "once decompressed, the file is larger than 1 MiB" in result.message


def test_a_file_exactly_at_the_limit_is_read(rows, write_csv):
    data = write_csv(rows)

    result = validate_file(lambda: io.BytesIO(data), DEALS, ",", max_errors=100, max_bytes=len(data))

    assert result.accepts()
