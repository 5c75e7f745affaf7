"""Helpers for the data-plane unit tests: deals files built from the API's own sample.

No network here: files are bytes in memory, opened afresh on each call as the S3 opener does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

SAMPLE = Path(__file__).resolve().parents[3] / "events" / "deals.csv"


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
