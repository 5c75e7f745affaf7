"""Helpers for the data-plane unit tests: deals files built from the API's own sample, and a
small table on local disk to write data files for.

No network here: files are bytes in memory, opened afresh on each call as the S3 opener does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
from pyiceberg.table.metadata import TableMetadata, new_table_metadata

from ingestion.dataplane.tables import (
    TABLE_PROPERTIES,
    data_type_properties,
    iceberg_schema,
    partition_spec,
    sort_order,
)
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType

SAMPLE = Path(__file__).resolve().parents[3] / "events" / "deals.csv"
# A data type of two columns, partitioned by the month of "at" as the real ones are.
EVENTS = DataTypeSpec(
    name="events",
    key="id",
    version_field="at",
    fields=(
        FieldSpec(name="id", type=FieldType.INTEGER, required=True),
        FieldSpec(name="at", type=FieldType.DATETIME, required=True),
    ),
)


def sample_rows() -> list[dict[str, str]]:
    """The five rows of the sample as column -> cell text."""
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def to_csv(rows: list[dict[str, str]], *, separator: str = ",", line_break: str = "\n") -> bytes:
    """Rows written as a CSV file, quoting only where needed, as spreadsheet exports do.

    The writer is told "\r\n" so that it quotes values holding either character, whatever
    ``line_break`` ends the records.
    """
    records = []
    for row in [dict(zip(rows[0], rows[0], strict=True)), *rows]:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=separator, lineterminator="\r\n").writerow(row.values())
        records.append(buffer.getvalue()[:-2] + line_break)
    return "".join(records).encode("utf-8")


def opener(data: bytes) -> Callable[[], BinaryIO]:
    """An ``open_source``: a fresh stream over ``data`` on every call."""
    return lambda: io.BytesIO(data)


@pytest.fixture
def rows() -> list[dict[str, str]]:
    """A fresh copy of the sample rows, for a test to spoil."""
    return sample_rows()


@pytest.fixture
def write_csv() -> Callable[..., bytes]:
    return to_csv


@pytest.fixture
def open_bytes() -> Callable[[bytes], Callable[[], BinaryIO]]:
    return opener


@pytest.fixture
def events_table(tmp_path: Path) -> TableMetadata:
    """A new table of ``events`` (an integer id, a moment ``at``) under ``tmp_path``."""
    schema = iceberg_schema(EVENTS)
    return new_table_metadata(
        schema=schema,
        partition_spec=partition_spec(EVENTS, schema),
        sort_order=sort_order(EVENTS, schema),
        location=f"file://{tmp_path}/events",
        properties=TABLE_PROPERTIES | data_type_properties(EVENTS),
    )
