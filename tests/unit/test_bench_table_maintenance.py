"""Case 6's report: files, reads and merges before and after maintenance, side by side."""

from __future__ import annotations

from bench import cases, table_maintenance

FIGURES = {
    "appends": 100,
    "append_rows": 100,
    "row_count": 10_000,
    "files_after_appends": 240,
    "files_before_maintenance": 240,
    "files_after_maintenance": 66,
    "maintenance_seconds": 4.71,
    "read_before": 1.5,
    "read_after": 0.5,
    "merge_before": 1.2,
    "merge_after": 0.8,
}


def test_section_shows_before_after_and_their_ratio():
    text = "\n".join(table_maintenance.section(FIGURES))

    assert "## Case 6: 100 small appends, before and after maintenance" in text
    assert "| before | 240 (after the appends: 240) | 1.500 | 1.200 |" in text
    assert "| after | 66 | 0.500 | 0.800 |" in text
    assert "| before / after | | 3.00 | 1.50 |" in text
    assert "took 4.7 s; the table holds 10,000 rows" in text


def test_the_case_runs_as_the_others_do():
    assert cases.CASES["maintenance"] is table_maintenance.maintenance
