"""``python -m bench.column_checks [--rows N] [--baseline REV]``: the column checks alone.

Times :func:`ingestion.dataplane.column_checks.check_column` over every column of the big
``deals`` file (the one ``python -m bench`` validates, reused from ``bench/data`` when an
earlier run left it there), read into all-string batches by the project's own CSV reader,
as validation reads it. Seconds are summed per field type, each round checking every
column of every batch once.

``--baseline REV`` also times the module as it is in git revision ``REV`` (loaded from
git into a private module, in this process only), in the same rounds, interleaved with the
working tree's, and checks that both give the same answers (values, missing, invalid) for
every column. For the ratio, ``pyarrow.csv.read_csv`` of the same file with every column
read as text is timed too, as are the project's CSV reader alone and the whole validation
(:func:`validate_file`: read, parse, every check; no write).

The first round is a warm-up and is discarded; each figure is the minimum over the other
rounds, with the spread (max / min - 1) beside it. The machine may be shared and noisy:
read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from bench.synthetic_deals import COLUMNS, write_csv
from bench.workload import DEFAULT_ROWS, DEFAULT_SEED, Workload, _generator_digest
from ingestion.dataplane import column_checks
from ingestion.dataplane.csv_records import CsvRecords
from ingestion.dataplane.validation import validate_file
from ingestion.schemas.deals import DEALS
from ingestion.schemas.spec import FieldSpec

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MODULE_PATH = "layers/shared/ingestion/dataplane/column_checks.py"
TOTAL = "all checks"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.column_checks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help=f"rows of the file (default {DEFAULT_ROWS:,})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds, after one warm-up round")
    parser.add_argument(
        "--baseline", help="a git revision whose column checks are timed beside the working tree's"
    )
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    return parser.parse_args(argv)


def deals_file(rows: int, seed: int, data_dir: Path) -> Path:
    """The big file of ``python -m bench`` for these sizes: reused if present, else written alone."""
    digest = _generator_digest()
    for big in sorted(data_dir.glob(f"seed{seed}-rows{rows}-*-gen{digest}/big.csv")):
        return big
    path = data_dir / f"column-checks-seed{seed}-rows{rows}-gen{digest}.csv"
    if not path.exists():
        workload = Workload.scaled(rows, seed=seed)
        start = workload.collection_rows
        print(f"Writing {rows:,} deals to {path} (kept for later runs) ...", flush=True)
        data_dir.mkdir(parents=True, exist_ok=True)
        write_csv(path, workload.history.deals(start, start + rows))
    return path


def read_batches(path: Path) -> list[pa.RecordBatch]:
    """The file as validation reads it: all-string batches from the project's CSV reader."""
    reader = CsvRecords(lambda: path.open("rb"), ",")
    try:
        return [raw.columns for raw in reader.batches()]
    finally:
        reader.close()


def module_at(revision: str) -> ModuleType:
    """The column checks module as it is in ``revision``, imported under a private name."""
    source = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", "show", f"{revision}:{MODULE_PATH}"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="column-checks-") as directory:
        path = Path(directory) / "baseline_column_checks.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("baseline_column_checks", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return module


class Checks:
    """One implementation of the column checks, timed per field type over every batch.

    Batch by batch, column by column, as validation calls them. Both wall-clock and CPU
    seconds are kept: on a shared machine the CPU seconds of this single-threaded work
    vary less.
    """

    def __init__(self, label: str, module: ModuleType, fields: list[FieldSpec]) -> None:
        self.label = label
        self.module = module
        self.fields = fields
        self.parsers = {spec.name: module.cell_parser(DEALS, spec) for spec in fields}
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.cpu_seconds: dict[str, list[float]] = defaultdict(list)

    def run(self, batches: list[pa.RecordBatch]) -> dict[str, list[object]]:
        """One round; returns every column's results, to compare implementations."""
        wall: dict[str, float] = defaultdict(float)
        cpu: dict[str, float] = defaultdict(float)
        results: dict[str, list[object]] = defaultdict(list)
        check_column: Callable[..., object] = self.module.check_column
        for batch in batches:
            for spec in self.fields:
                column, parser = batch.column(spec.name), self.parsers[spec.name]
                start, start_cpu = time.perf_counter(), time.process_time()
                checked = check_column(spec, column, parser)
                wall[spec.type.value] += time.perf_counter() - start
                cpu[spec.type.value] += time.process_time() - start_cpu
                results[spec.name].append(checked)
        for totals, samples in ((wall, self.seconds), (cpu, self.cpu_seconds)):
            for name, seconds in totals.items():
                samples[name].append(seconds)
            samples[TOTAL].append(sum(totals.values()))
        return results


def same_answers(first: dict[str, list[object]], second: dict[str, list[object]]) -> list[str]:
    """The columns where two implementations differ in values, missing or invalid cells."""
    differing = []
    for name, checked in first.items():
        for one, other in zip(checked, second[name], strict=True):
            if not (
                one.values.equals(other.values)
                and one.missing.equals(other.missing)
                and one.invalid.equals(other.invalid)
            ):
                differing.append(name)
                break
    return differing


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def figure(samples: list[float]) -> str:
    """The minimum, and how far above it the slowest round was."""
    best = min(samples)
    return f"{best:7.3f} s (spread {max(samples) / best - 1:4.0%})"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    path = deals_file(args.rows, args.seed, args.data_dir)
    print(f"File: {path} ({path.stat().st_size / 1e6:.0f} MB, {args.rows:,} rows)", flush=True)
    batches = read_batches(path)
    names = set(batches[0].schema.names)
    fields = [spec for spec in DEALS.fields if spec.name in names]
    implementations = [Checks("working tree", column_checks, fields)]
    if args.baseline:
        implementations.insert(0, Checks(f"at {args.baseline}", module_at(args.baseline), fields))
    all_text = pacsv.ConvertOptions(column_types=dict.fromkeys(COLUMNS, pa.string()))
    # The descriptions may hold line breaks: without this option the file is misread.
    quoted_breaks = pacsv.ParseOptions(newlines_in_values=True)
    references: dict[str, list[float]] = {"read_csv": [], "reader": [], "whole": []}
    differing: list[str] = []
    whole_failed: str | None = None

    def opener() -> BinaryIO:
        return path.open("rb")

    for round_number in range(args.rounds + 1):
        results = [checks.run(batches) for checks in implementations]
        if round_number == 0 and len(results) > 1:
            differing = same_answers(results[0], results[1])
        del results
        references["read_csv"].append(
            timed(lambda: pacsv.read_csv(path, parse_options=quoted_breaks, convert_options=all_text))
        )
        references["reader"].append(timed(lambda: read_batches(path)))
        if whole_failed is None:
            try:
                references["whole"].append(timed(lambda: validate_file(opener, DEALS, ",", max_errors=100)))
            except Exception as error:  # validation is another module: report it, keep measuring
                whole_failed = f"{type(error).__name__}: {error}"
        if round_number == 0:  # the warm-up round
            for checks in implementations:
                checks.seconds.clear()
                checks.cpu_seconds.clear()
            for samples in references.values():
                samples.clear()
            continue
        print(f"  round {round_number}/{args.rounds} done", flush=True)

    for title, samples_of in (("wall-clock", "seconds"), ("CPU", "cpu_seconds")):
        print(f"\nColumn checks, {len(batches)} batches, {title} seconds, minimum of {args.rounds} rounds:")
        header = f"{'field type':<14}" + "".join(f"{checks.label:>30}" for checks in implementations)
        if len(implementations) > 1:
            header += f"{'before / after':>16}"
        print(header)
        for kind in [*(kind for kind in implementations[0].seconds if kind != TOTAL), TOTAL]:
            samples = [getattr(checks, samples_of)[kind] for checks in implementations]
            line = f"{kind:<14}" + "".join(f"{figure(sample):>30}" for sample in samples)
            if len(implementations) > 1:
                line += f"{min(samples[0]) / min(samples[1]):>15.2f}x"
            print(line)
    read = min(references["read_csv"])
    print(f"\nWall-clock seconds, minimum of {args.rounds} rounds, and as a multiple of read_csv:")
    print(f"{'pyarrow.csv.read_csv, all text':<44}{figure(references['read_csv'])}")
    for label, samples in (
        ("the project's CSV reader alone", references["reader"]),
        ("validate_file, whole (working tree)", references["whole"]),
        *((f"column checks ({checks.label})", checks.seconds[TOTAL]) for checks in implementations),
    ):
        if samples:
            print(f"{label:<44}{figure(samples)}  = {min(samples) / read:.2f}x")
    if whole_failed is not None:
        print(f"validate_file could not be timed: {whole_failed}")
    if len(implementations) > 1:
        verdict = "yes" if not differing else f"NO, in {', '.join(differing)}"
        print(f"same answers as the baseline: {verdict}")


if __name__ == "__main__":
    main()
