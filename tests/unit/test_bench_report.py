"""The benchmark's report of case 3: which uploads the start, middle and end figures come from."""

from __future__ import annotations

from bench.report import Run, Series, upload_medians


def test_case_3_compares_the_first_middle_and_last_fifty_uploads():
    seconds = [1.0] * 50 + [2.0] * 100 + [3.0] * 50  # 200 uploads growing slower
    run = Run(1, 1, 1, 1, 1, figures={"upload_seconds": seconds})

    assert upload_medians(Series("case3", [run])) == (1.0, 2.0, 3.0)
