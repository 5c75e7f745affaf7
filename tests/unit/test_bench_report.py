"""The benchmark's report: minimum over minimum for the ratios, a warm-up run in no figure, case 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import checks, render, spread_upserts, targets, upload_medians
from bench.runs import MIB, Run, Series
from bench.workload import Workload, WorkloadFiles

WORKLOAD = Workload.scaled(2_000, increments=3)


def run(seconds: float, *, cpu: float | None = None, peak: int = 100 * MIB, **figures: object) -> Run:
    return Run(seconds, seconds if cpu is None else cpu, peak, 50 * MIB, seconds + 1, figures=dict(figures))


def runs(*seconds: float, **figures: object) -> list[Run]:
    return [run(value, **figures) for value in seconds]


def every_series(**replaced: Series) -> dict[str, Series]:
    """A whole run's series whose outcomes are all as expected, each taking 1 s unless replaced."""
    big, collection, increment = WORKLOAD.big_rows, WORKLOAD.collection_rows, WORKLOAD.increment_rows
    uploads = [0.5] * 200
    found = {
        "s3_read": Series("s3_read", runs(1.0, bytes=1_000_000)),
        "arrow_parse": Series("arrow_parse", runs(1.0, rows=big)),
        "naive": Series("naive", runs(1.0, rows=big)),
        "validate": Series("validate", runs(1.0, rows=big)),
        "case1a": Series("case1a", runs(1.0, inserted=big, updated=0, row_count=big)),
        "case1b": Series("case1b", runs(1.0, inserted=big, updated=0, row_count=collection + big)),
        "case2_empty": Series("case2_empty", runs(1.0, inserted=increment, updated=0, row_count=increment)),
        "case2_full": Series(
            "case2_full",
            runs(1.0, inserted=increment - increment // 2, updated=increment // 2, row_count=collection),
        ),
        "case3": Series(
            "case3",
            runs(100.0, row_count=5, upload_seconds=uploads, metadata_bytes=1, manifests=1, snapshots=1),
        ),
        "case4": Series("case4", runs(1.0, inserted=WORKLOAD.huge_rows, updated=0, row_count=1)),
        "case7": spread(2.0, 0.3, 0.4, 0.5),
    }
    return found | replaced


def spread(*seconds: float, updated: int = 5, inserted: int = 0) -> Series:
    """Case 7: one run of 5-row upserts taking ``seconds`` each."""
    figures = {
        "upload_seconds": list(seconds),
        "updated_per_upload": [updated] * len(seconds),
        "inserted_per_upload": [inserted] * len(seconds),
        "row_count": WORKLOAD.collection_rows,
    }
    return Series("case7", [run(sum(seconds), **figures)])


def target(found: dict[str, Series], label_start: str):
    return next(item for item in targets(WORKLOAD, found) if item.label.startswith(label_start))


def test_case_3_compares_the_first_middle_and_last_fifty_uploads():
    seconds = [1.0] * 50 + [2.0] * 100 + [3.0] * 50  # 200 uploads growing slower
    only = Run(1, 1, 1, 1, 1, figures={"upload_seconds": seconds})

    assert upload_medians(Series("case3", [only])) == (1.0, 2.0, 3.0)


def test_case_3_shows_the_cpu_seconds_behind_the_upload_times_when_the_server_s_were_read(tmp_path):
    figures = {"row_count": 5, "metadata_bytes": 23_000, "manifests": 2, "snapshots": 20}
    measured = {
        "upload_seconds": [0.2] * 100 + [0.4] * 100,  # twice as slow at the end...
        "upload_cpu_seconds": [0.1] * 200,  # ...with the same work here
        "server_cpu_seconds": [0.05] * 100 + [0.06] * 100,
        "control_seconds": [0.01] * 100 + [0.02] * 100,  # the machine: twice as slow at the end
    }
    found = every_series(case3=Series("case3", runs(100.0, **figures, **measured)))
    no_proc = measured | {"server_cpu_seconds": []}
    unread = every_series(case3=Series("case3", runs(100.0, **figures, **no_proc)))

    text = rendered(tmp_path, found)

    assert "| seconds | 0.200 | 0.300 | 0.400 | 2.00 |" in text
    assert "| CPU seconds, upload | 0.100 | 0.100 | 0.100 | 1.00 |" in text
    assert "| CPU seconds, moto server | 0.050 | 0.055 | 0.060 | 1.20 |" in text
    assert "| fixed work after it, seconds (the machine) | 0.010 | 0.015 | 0.020 | 2.00 |" in text
    assert "| 23,000 bytes | 2 | 20 | 5 |" in text
    assert "| CPU seconds, upload | 0.100 |" in rendered(tmp_path, unread)
    assert "| CPU seconds, moto server |" not in rendered(tmp_path, unread)


def test_a_series_figure_is_its_fastest_run_with_the_median_and_spread_beside_it():
    found = Series("validate", runs(1.25, 1.17, 1.20))

    assert found.minimum == 1.17
    assert found.median == 1.20
    assert found.describe() == "1.17 s (3 runs, 1.17-1.25)"


def test_the_ratios_are_minimum_over_minimum_not_median_over_median():
    # Medians 3.00 / 0.70 = 4.3x would miss the 2x target; the minimums 1.00 / 0.60 = 1.67x meet it.
    found = every_series(
        validate=Series("validate", runs(3.0, 1.0, 3.2)),
        arrow_parse=Series("arrow_parse", runs(0.7, 0.8, 0.6)),
    )

    validation = target(found, "1: validation alone")

    assert validation.ratio == pytest.approx(1.0 / 0.6)
    assert validation.met
    assert validation.measured == "1.00 s (3 runs, 1.00-3.20) vs 0.60 s (3 runs, 0.60-0.80)"


def test_the_increment_ratio_is_minimum_over_minimum_too():
    found = every_series(
        case2_full=Series("case2_full", [*every_series()["case2_full"].runs, run(6.0), run(6.0)]),
        case2_empty=Series("case2_empty", [*every_series()["case2_empty"].runs, run(1.1), run(1.2)]),
    )

    # Medians 6.0 / 1.1 = 5.5x would miss the 5x target; the minimums 1.0 / 1.0 meet it.
    increment = target(found, "2:")

    assert increment.ratio == pytest.approx(1.0)
    assert increment.met


def test_a_warm_up_run_enters_no_figure():
    warmup = run(0.10, cpu=0.05, peak=900 * MIB)
    found = Series("validate", runs(1.0, 1.2, 1.1), warmup=[warmup])

    assert found.minimum == 1.0
    assert found.median == 1.1
    assert found.cpu_minimum == 1.0
    assert found.peak_rss == 100 * MIB
    assert found.describe() == "1.00 s (3 runs, 1.00-1.20)"
    assert found.spread() == "3 runs, 1.00-1.20; warm-up 0.10 discarded"


def test_a_fast_warm_up_run_changes_no_ratio():
    counted = runs(2.0, 2.2, rows=WORKLOAD.big_rows)
    without = every_series(validate=Series("validate", counted))
    fast_warmup = Series("validate", counted, warmup=runs(0.5, rows=WORKLOAD.big_rows))

    assert target(every_series(validate=fast_warmup), "1: validation alone").ratio == 2.0
    assert target(without, "1: validation alone").ratio == 2.0


def test_a_warm_up_run_with_a_wrong_outcome_fails_the_checks():
    found = every_series(
        case1a=Series(
            "case1a",
            every_series()["case1a"].runs,
            warmup=runs(1.0, inserted=1, updated=0, row_count=WORKLOAD.big_rows),
        )
    )

    assert checks(WORKLOAD, every_series()) == []
    assert checks(WORKLOAD, found) == [f"case1a warm-up run: inserted 1 (expected {WORKLOAD.big_rows})"]


def rendered(tmp_path: Path, found: dict[str, Series]) -> str:
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 1000)
    files = WorkloadFiles(directory=tmp_path, big=big, increments=[big], chunks=[big], huge=big)
    build = run(10.0, chunk_seconds=[1.0, 1.0], row_count=WORKLOAD.collection_rows)
    machine = {"date": "today", "load average (1, 5, 15 min)": "0.00 0.00 0.00"}
    return render(
        workload=WORKLOAD,
        files=files,
        series=found,
        builds={"case 1b, round 1": build},
        machine=machine,
        machine_after=machine,
        phases={"case 1": 1.0},
        total_seconds=1.0,
        logs=tmp_path / "runs",
        command="python -m bench",
        profiles=None,
    )


def test_the_results_say_the_warm_up_round_was_discarded_and_show_minimum_and_median(tmp_path):
    validate = runs(1.2, 1.17, 1.25, rows=WORKLOAD.big_rows)
    found = every_series(validate=Series("validate", validate, warmup=runs(2.0, rows=WORKLOAD.big_rows)))

    text = rendered(tmp_path, found)

    assert "warm-up round (every measurement once) whose runs are discarded" in text
    assert "minimum over minimum" in text
    assert "| min s | median s | runs (min-max s) | CPU s, min |" in text
    assert (
        "| 1: validation alone of the big file (no merge) | 1.17 | 1.20"
        " | 3 runs, 1.17-1.25; warm-up 2.00 discarded |" in text
    )
    assert "1.17 s (3 runs, 1.17-1.25) vs 1.00 s (1 run) | 1.17x" in text


def test_without_a_warm_up_the_results_claim_none(tmp_path):
    assert "warm-up" not in rendered(tmp_path, every_series())


def test_case_7_counts_a_warm_validator_s_uploads_and_wants_their_median_well_under_a_second():
    assert spread_upserts(spread(2.0, 0.3, 0.4, 0.9)) == (2.0, 0.3, 0.4)  # the first is not counted

    met = target(every_series(case7=spread(2.0, 0.3, 0.4, 0.5)), "7: 5-row upsert")
    missed = target(every_series(case7=spread(0.1, 0.6, 0.7, 0.8)), "7: 5-row upsert")

    assert (met.ratio, met.met) == (0.4, True)
    assert (missed.ratio, missed.met) == (0.7, False)


def test_case_7_fails_its_checks_when_an_upload_inserted_or_missed_a_deal():
    assert checks(WORKLOAD, every_series()) == []
    assert checks(WORKLOAD, every_series(case7=spread(0.3, 0.3, updated=4, inserted=1))) == [
        "case7 run 0: updated per upload {4} (expected {5})",
        "case7 run 0: inserted per upload {1} (expected {0})",
    ]


def test_case_7_s_target_is_shown_in_seconds(tmp_path):
    text = rendered(tmp_path, every_series())

    assert "median of a warm validator's uploads | 0.40 s (min 0.30; first upload 2.00, not counted)" in text
    assert "| 0.40 s | <= 0.5 s | **PASS** |" in text
