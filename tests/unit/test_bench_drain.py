"""Case 5's files and report: each upload a newer version of the same deals, the target named."""

from __future__ import annotations

import csv
import io

from bench import drain

RESULT = {
    "uploads": 200,
    "rate": 10.0,
    "concurrency": "default",
    "arrival_seconds": 20.4,
    "drain_seconds": 61.2,
    "completed": 199,
    "errors": 1,
    "row_count": 5,
    "processing_first": 0.61,
    "processing_middle": 0.64,
    "processing_last": 0.66,
}


def test_each_sync_file_is_a_newer_version_of_the_same_five_deals():
    files = drain.sync_files(3)

    tables = [list(csv.DictReader(io.StringIO(data.decode()))) for data in files]

    assert [[row["id"] for row in rows] for rows in tables] == [["1", "2", "3", "4", "5"]] * 3
    # Every row of a file carries the file's version; the sample's other columns are untouched.
    assert [len({row["lastUpdateDatetime"] for row in rows}) for rows in tables] == [1, 1, 1]
    assert tables[0][0]["name"] == tables[2][0]["name"] == "Customer A - annual supply"


def test_sync_file_versions_keep_rising_past_an_hour_and_a_day():
    files = drain.sync_files(1500)
    stamps = [next(csv.DictReader(io.StringIO(data.decode())))["lastUpdateDatetime"] for data in files]

    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 1500


def test_section_reports_the_drain_against_the_target():
    late = "\n".join(drain.section(RESULT))
    in_time = "\n".join(drain.section(RESULT | {"drain_seconds": 42.0}))

    assert "| 20.4 | 61.2 | **no** | 199 | 1 | 5 | 0.61 / 0.64 / 0.66 (50 uploads each) |" in late
    assert "| 42.0 | yes |" in in_time
    assert "python -m bench.drain --uploads 200 --rate 10" in late
