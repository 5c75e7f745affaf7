"""The benchmark's command line: only a run at every default size writes the committed results."""

from __future__ import annotations

from bench.options import BENCH, parse_args


def test_a_run_at_the_default_sizes_writes_the_committed_results():
    assert parse_args([], "bench").output == BENCH / "results.md"


def test_a_run_with_fewer_spread_upserts_writes_beside_them():
    args = parse_args(["--spread-upserts", "3"], "bench")

    assert args.spread_upserts == 3
    assert args.output == BENCH / f"results.rows-{args.rows}.md"
