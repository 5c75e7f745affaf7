"""``make bench`` / ``python -m bench [--rows N]``: the validation and merge benchmark.

In one run, on the same generated files, each in a fresh process (:mod:`bench.cases`):

1. the validator's processing (read from S3, validate, merge, commit) of the ~100 MB file
   (a) into an empty collection and (b) into one holding 1M rows, against
   ``pyarrow.csv.read_csv`` of the same file and a naive csv + pydantic baseline;
2. a 10k-row increment (half updates of recent deals, half new) into the 1M-row collection,
   against the same file into an empty one;
3. 1,000 consecutive 5-row upserts into one table (a CRM sync every minute): whether the
   cost of an upload stays flat as the table's history grows;
4. a file 10x the big one (~1 GB) into the large collection: the validator's peak memory;
5. 200 small uploads posted to the local stack at ~10 a second: how long after the last one
   the queue is drained (:mod:`bench.drain`);
6. 100 small appends into one table, then reads and merges before and after the table's
   maintenance (:mod:`bench.table_maintenance`);
7. 5-row upserts of stored deals spread over the 1M-row collection (each in another data file),
   one after the other in one process, as a warm validator takes a CRM sync's uploads.

Case 1 also times validation alone (read, parse, every check; no merge) on the big file. It
runs in rounds, every measurement side by side, after a warm-up round whose runs are discarded.
Each figure is the minimum over the counted runs, each ratio minimum over minimum, reported with
the spread (:mod:`bench.runs`).

Then the API functions' cold start: importing each handler, in fresh processes (:mod:`bench.cold_start`).

The large collections are built before their case (by ingesting generated chunks; timed
for information). The targets are reported, never asserted: the machine may be shared and
noisy, so the ratios are the result, not the absolute times.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cold_start, drain, table_maintenance
from bench.local_aws import LocalAws
from bench.machine import machine_info
from bench.options import parse_args
from bench.report import render
from bench.runs import Run, Series
from bench.workload import Workload, prepare_files

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CASE_TIMEOUT_SECONDS = 3 * 3600
# Case 4's validator reads files up to this size and keeps up to this much of their rows on
# local disk (the default limits would refuse its file at a larger --rows).
HUGE_FILE_LIMIT_MIB = 4096
SERIES = (
    "s3_read",
    "arrow_parse",
    "naive",
    "validate",
    "case1a",
    "case1b",
    "case2_empty",
    "case2_full",
    "case3",
    "case4",
    "case7",
)
# The series case 1 measures in rounds, and the label of its warm-up round's runs.
CASE_1 = ("s3_read", "arrow_parse", "naive", "validate", "case1a", "case1b")
WARMUP = "warmup"


class CaseRunner:
    """Runs :mod:`bench.cases` in fresh processes against the moto server, logging each to a file."""

    def __init__(self, aws: LocalAws, directory: Path, profile_directory: Path | None) -> None:
        self.aws = aws
        self.directory = directory
        self.profile_directory = profile_directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def run(
        self,
        case: str,
        label: str,
        *,
        profile: bool = False,
        environment: dict[str, str] | None = None,
        **options: Any,
    ) -> Run:
        self._count += 1
        stem = f"{self._count:02d}-{label}"
        result, log = self.directory / f"{stem}.json", self.directory / f"{stem}.log"
        command = [sys.executable, "-m", "bench.cases", case, "--result", str(result)]
        command += [
            "--endpoint",
            self.aws.endpoint,
            "--bucket",
            self.aws.bucket,
            "--database",
            self.aws.database,
        ]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            command += [flag, *map(str, value)] if isinstance(value, list) else [flag, str(value)]
        if profile and self.profile_directory is not None:
            self.profile_directory.mkdir(parents=True, exist_ok=True)
            command += ["--profile", str(self.profile_directory / f"{stem}.prof")]
        started = time.perf_counter()
        with log.open("w") as output:
            completed = subprocess.run(  # noqa: S603 - our own interpreter and module
                command,
                cwd=ROOT,
                env=self.aws.child_environment() | (environment or {}),
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=CASE_TIMEOUT_SECONDS,
                check=False,
            )
        if completed.returncode != 0:
            tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
            raise RuntimeError(f"case {label} failed (exit {completed.returncode}), see {log}:\n{tail}")
        run = Run.from_json(result, process_seconds=time.perf_counter() - started)
        print(f"  {label:<34} {run.summary()}", flush=True)
        return run


@dataclass(frozen=True)
class Case1:
    """Case 1 in rounds, on the big file: the references, validation alone, 1a and 1b."""

    runner: CaseRunner
    big_key: str
    big_file: Path
    chunks: list[Path]
    run_id: str

    def run(
        self, *, rounds: int, repeats: int
    ) -> tuple[dict[str, list[Run]], dict[str, list[Run]], dict[str, Run]]:
        """A warm-up round, then ``rounds`` counted ones: the counted runs, the warm-up's, the builds.

        Each round runs every measurement once (the quick references as often as needed to reach
        ``repeats`` over the counted rounds), so that a slow spell of a shared machine hits them
        all. The warm-up round runs each once more, first, and its runs are kept apart: they pay
        for cold caches and the moto server's first requests, and no figure counts them.
        """
        counted: dict[str, list[Run]] = {name: [] for name in CASE_1}
        warmup: dict[str, list[Run]] = {name: [] for name in CASE_1}
        print("Case 1, warm-up round (every measurement once; discarded, in no figure):", flush=True)
        builds = {
            "case 1b, warm-up round (discarded)": self.one_round(warmup, WARMUP, [WARMUP], profile=False)
        }
        for number in range(rounds):
            print(f"Case 1, round {number + 1} of {rounds}:", flush=True)
            quick = [str(n) for n in range(number, repeats, rounds)]
            builds[f"case 1b, round {number + 1}"] = self.one_round(counted, str(number), quick, profile=True)
        return counted, warmup, builds

    def one_round(self, runs: dict[str, list[Run]], tag: str, quick: list[str], *, profile: bool) -> Run:
        """One round into ``runs``; returns the build of its 1b collection (not timed in the case)."""
        runner, key = self.runner, self.big_key
        for label in quick:
            runs["s3_read"].append(runner.run("s3-read", f"s3-read-{label}", key=key))
            runs["arrow_parse"].append(runner.run("arrow-parse", f"arrow-parse-{label}", file=self.big_file))
        runs["naive"].append(runner.run("naive", f"naive-{tag}", key=key))
        runs["validate"].append(runner.run("validate", f"validate-{tag}", key=key))
        ingest = {"key": key, "request": f"{self.run_id}-big-{tag}", "profile": profile}
        runs["case1a"].append(
            runner.run("ingest", f"1a-into-empty-{tag}", collection=f"empty{tag}", **ingest)
        )
        # 1b changes its collection, so each round builds its own.
        built = runner.run(
            "build", f"build-1b-{tag}", collection=f"large{tag}", files=self.chunks, request=self.run_id
        )
        runs["case1b"].append(
            runner.run("ingest", f"1b-into-large-{tag}", collection=f"large{tag}", **ingest)
        )
        return built


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv, __doc__.split("\n\n")[0])
    started = time.perf_counter()
    workload = Workload.scaled(
        args.rows,
        seed=args.seed,
        increments=args.repeats,
        build_chunks=args.build_chunks,
        collection_rows=args.collection_rows,
        increment_rows=args.increment_rows,
    )
    machine_before = machine_info(ROOT)
    print(f"Benchmark, {workload.describe()}", flush=True)
    phases: dict[str, float] = {}

    phase = time.perf_counter()
    print(f"Generating the files into {args.data_dir} (kept for later runs) ...", flush=True)
    files = prepare_files(workload, args.data_dir)
    phases["generate files (cached after the first run)"] = time.perf_counter() - phase

    runs: dict[str, list[Run]] = {name: [] for name in SERIES}
    builds: dict[str, Run] = {}
    run_id = uuid.uuid4().hex[:8]
    logs = args.data_dir / "runs" / run_id
    with LocalAws() as aws:
        phase = time.perf_counter()
        big_key = "incoming/bench/deals/big.csv"
        aws.upload(files.big, big_key)
        increment_keys = [f"incoming/bench/deals/increment-{n}.csv" for n in range(workload.increments)]
        for path, key in zip(files.increments, increment_keys, strict=True):
            aws.upload(path, key)
        huge_key = "incoming/bench/deals/huge.csv"
        aws.upload(files.huge, huge_key)
        phases["moto server start, uploads to S3"] = time.perf_counter() - phase
        runner = CaseRunner(aws, logs, logs / "profiles" if args.profile else None)

        phase = time.perf_counter()
        counted, warmups, case_1_builds = Case1(runner, big_key, files.big, files.chunks, run_id).run(
            rounds=args.big_repeats, repeats=args.repeats
        )
        runs.update(counted)
        builds.update(case_1_builds)
        build_seconds = sum(built.process_seconds for built in case_1_builds.values())
        phases["case 1 (all rounds, the warm-up too), without the builds"] = (
            time.perf_counter() - phase - build_seconds
        )
        phases["case 1: building the large collections"] = build_seconds

        # Case 2 has no warm-up run: it follows case 1 on the same warm server and files, and its
        # runs are consecutive increments into one collection (each the next day's), not rounds.
        phase = time.perf_counter()
        print(
            f"Case 2: building a {workload.collection_rows:,}-row collection, then the increments:",
            flush=True,
        )
        built = runner.run("build", "build-2", collection="incremented", files=files.chunks, request=run_id)
        builds["case 2"] = built
        phases["case 2: building the large collection"] = built.process_seconds
        for number, key in enumerate(increment_keys):
            # Each increment is the next day's export: into the same large collection one after
            # the other (as in production), and into a fresh empty collection.
            ingest = {"key": key, "request": f"{run_id}-increment-{number}", "profile": True}
            runs["case2_empty"].append(
                runner.run(
                    "ingest", f"2-increment-{number}-into-empty", collection=f"fresh{number}", **ingest
                )
            )
            runs["case2_full"].append(
                runner.run("ingest", f"2-increment-{number}-into-large", collection="incremented", **ingest)
            )
        phases["case 2, without the build"] = time.perf_counter() - phase - built.process_seconds

        phase = time.perf_counter()
        print(f"Case 7: {args.spread_upserts} 5-row upserts spread over the large collection:", flush=True)
        runs["case7"].append(
            runner.run(
                "spread-upserts",
                "7-spread-upserts",
                collection="incremented",
                files=files.chunks,
                request=f"{run_id}-spread",
                uploads=args.spread_upserts,
            )
        )
        phases["case 7"] = time.perf_counter() - phase

        phase = time.perf_counter()
        print(f"Case 3: {args.small_upserts:,} consecutive 5-row upserts into one table:", flush=True)
        runs["case3"].append(
            runner.run(
                "small-upserts",
                "3-small-upserts",
                collection="synced",
                request=f"{run_id}-sync",
                uploads=args.small_upserts,
            )
        )
        phases["case 3"] = time.perf_counter() - phase

        phase = time.perf_counter()
        print(f"Case 6: {args.maintenance_appends} small appends, before and after maintenance:", flush=True)
        maintained = runner.run(
            "maintenance",
            "6-maintenance",
            collection="maintained",
            request=f"{run_id}-maintained",
            uploads=args.maintenance_appends,
        )
        phases["case 6"] = time.perf_counter() - phase

        phase = time.perf_counter()
        print(f"Case 4: the {workload.huge_rows:,}-row file into the large collection:", flush=True)
        runs["case4"].append(
            runner.run(
                "ingest",
                "4-huge-into-large",
                collection="incremented",
                key=huge_key,
                request=f"{run_id}-huge",
                # At the default size the file (~977 MiB) is within the validator's default limit
                # (MaxDecompressedMiB, 1024), not at a larger --rows: this case measures what a
                # file of any size takes, so the limits are lifted.
                environment={
                    "MAX_DECOMPRESSED_MIB": str(HUGE_FILE_LIMIT_MIB),
                    "KEPT_ROWS_ON_DISK_MIB": str(HUGE_FILE_LIMIT_MIB),
                },
            )
        )
        phases["case 4"] = time.perf_counter() - phase

    phase = time.perf_counter()
    print(f"Case 5: draining {args.drain_uploads} small uploads through the local stack ...", flush=True)
    drained = drain.section(drain.drain(args.drain_uploads))
    phases["case 5 (bench.drain)"] = time.perf_counter() - phase

    phase = time.perf_counter()
    print("API cold start: importing each API function's handler in fresh processes ...", flush=True)
    cold_starts = cold_start.section(cold_start.measure_api_functions(), cold_start.DEFAULT_RUNS)
    phases["API cold start (bench.cold_start)"] = time.perf_counter() - phase

    series = {name: Series(name, found, warmup=warmups.get(name, [])) for name, found in runs.items()}
    total = time.perf_counter() - started
    text = render(
        workload=workload,
        files=files,
        series=series,
        builds=builds,
        machine=machine_before,
        machine_after=machine_info(ROOT),
        phases=phases,
        total_seconds=total,
        logs=logs,
        command=" ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        profiles=runner.profile_directory,
        sections=table_maintenance.section(maintained.figures) + drained + cold_starts,
    )
    args.output.write_text(text)
    print()
    print(text)
    print(f"Written to {args.output}; case logs and results in {logs}")


if __name__ == "__main__":
    main()
