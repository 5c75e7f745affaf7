"""Case 1's rounds: a warm-up round first, every measurement once, kept out of every figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.__main__ import CASE_1, Case1
from bench.runs import Run, Series

WARMUP_SECONDS = 0.01  # far faster than any counted run: any figure that counted it would show it


class RecordingRunner:
    """Stands in for the case processes: records each run, the warm-up's much faster than the rest."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def run(self, case: str, label: str, **options: Any) -> Run:
        self.calls.append((case, label, options))
        seconds = WARMUP_SECONDS if "warmup" in label else 1.0 + len(self.calls) / 100
        return Run(seconds, seconds, 1, 1, seconds, figures={"label": label})


def case_1(rounds: int = 3, repeats: int = 5) -> tuple[RecordingRunner, tuple[Any, Any, Any]]:
    runner = RecordingRunner()
    case = Case1(runner, "incoming/big.csv", Path("big.csv"), [Path("chunk.csv")], "run")
    return runner, case.run(rounds=rounds, repeats=repeats)


def test_the_warm_up_round_runs_every_measurement_once_before_any_counted_run():
    runner, (_, warmup, builds) = case_1()

    first = [label for _, label, _ in runner.calls[:7]]  # S3 read, read_csv, naive, validate, 1a, build, 1b
    assert all("warmup" in label for label in first)
    assert not any("warmup" in label for _, label, _ in runner.calls[7:])
    assert {name: len(found) for name, found in warmup.items()} == dict.fromkeys(CASE_1, 1)
    assert "case 1b, warm-up round (discarded)" in builds


def test_the_counted_rounds_keep_their_number_of_runs():
    _, (counted, _, builds) = case_1(rounds=3, repeats=5)

    assert {name: len(found) for name, found in counted.items()} == {
        "s3_read": 5,
        "arrow_parse": 5,
        "naive": 3,
        "validate": 3,
        "case1a": 3,
        "case1b": 3,
    }
    assert list(builds) == [
        "case 1b, warm-up round (discarded)",
        "case 1b, round 1",
        "case 1b, round 2",
        "case 1b, round 3",
    ]


def test_no_figure_counts_the_warm_up_runs():
    _, (counted, warmup, _) = case_1()

    for name in CASE_1:
        found = Series(name, counted[name], warmup=warmup[name])
        assert found.minimum > 1.0
        assert all("warmup" not in run.figures["label"] for run in found.runs)
        assert found.warmup[0].seconds == WARMUP_SECONDS


def test_each_round_merges_into_collections_of_its_own_and_the_warm_up_is_not_profiled():
    runner, _ = case_1(rounds=2, repeats=2)

    ingests = [options for case, _, options in runner.calls if case == "ingest"]
    collections = [options["collection"] for options in ingests]
    assert len(set(collections)) == len(collections) == 6  # 1a and 1b in the warm-up and 2 rounds
    assert [options["profile"] for options in ingests] == [False, False, True, True, True, True]
    builds = [options["collection"] for case, _, options in runner.calls if case == "build"]
    assert builds == ["largewarmup", "large0", "large1"]
