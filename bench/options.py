"""The benchmark's command line: ``python -m bench --help``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench import drain
from bench.workload import DEFAULT_BUILD_CHUNKS, DEFAULT_ROWS, DEFAULT_SEED

BENCH = Path(__file__).resolve().parent
DEFAULT_SMALL_UPSERTS = 1000
DEFAULT_MAINTENANCE_APPENDS = 100
DEFAULT_SPREAD_UPSERTS = 20


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=description)
    parser.add_argument(
        "--rows",
        type=int,
        default=int(os.environ.get("ROWS") or DEFAULT_ROWS),
        help=f"rows of the big file (env ROWS; default {DEFAULT_ROWS:,}, ~100 MB); the large "
        "collection scales with it",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="counted runs of each quick case: S3 read, read_csv, increments (the minimum is the figure)",
    )
    parser.add_argument(
        "--big-repeats",
        type=int,
        default=3,
        help="counted rounds of case 1: naive, validation alone, 1a, 1b (each 1b on its own newly built"
        " collection); a warm-up round runs before them, its runs discarded",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--collection-rows", type=int, help="override the large collection's size")
    parser.add_argument("--increment-rows", type=int, help="override the increment's size (default 10,000)")
    parser.add_argument(
        "--build-chunks", type=int, default=DEFAULT_BUILD_CHUNKS, help="uploads that build it"
    )
    parser.add_argument(
        "--small-upserts",
        type=int,
        default=int(os.environ.get("SMALL_UPSERTS") or DEFAULT_SMALL_UPSERTS),
        help="consecutive 5-row upserts of case 3 (env SMALL_UPSERTS; default 1,000; ROWS does not scale it)",
    )
    parser.add_argument(
        "--drain-uploads",
        type=int,
        default=int(os.environ.get("DRAIN_UPLOADS") or drain.DEFAULT_UPLOADS),
        help="small uploads of case 5 posted to the local stack (env DRAIN_UPLOADS; default 200)",
    )
    parser.add_argument(
        "--maintenance-appends",
        type=int,
        default=DEFAULT_MAINTENANCE_APPENDS,
        help="small appends of case 6 before the maintenance (default 100)",
    )
    parser.add_argument(
        "--spread-upserts",
        type=int,
        default=DEFAULT_SPREAD_UPSERTS,
        help="5-row upserts of case 7 into the large collection (default 20; the first is a warm-up)",
    )
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    parser.add_argument(
        "--output",
        type=Path,
        help="where the results go (default bench/results.md at the default size, else a file beside it)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile the ingest cases into the run's log directory (slower: ratios not comparable)",
    )
    args = parser.parse_args(argv)
    if args.output is None:
        # A quick, scaled-down run never overwrites the committed figures of the default size.
        default = (
            args.rows,
            args.small_upserts,
            args.drain_uploads,
            args.maintenance_appends,
            args.spread_upserts,
        ) == (
            DEFAULT_ROWS,
            DEFAULT_SMALL_UPSERTS,
            drain.DEFAULT_UPLOADS,
            DEFAULT_MAINTENANCE_APPENDS,
            DEFAULT_SPREAD_UPSERTS,
        )
        args.output = BENCH / ("results.md" if default else f"results.rows-{args.rows}.md")
    return args
