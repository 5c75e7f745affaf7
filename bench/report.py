"""The benchmark's results: measurements, the targets as ratios, and ``bench/results.md``."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.runs import GIB, MIB, Run, Series, mib
from bench.workload import DEFAULT_ROWS, FULL_COLLECTION_ROWS, Workload, WorkloadFiles

RSS_LIMIT = 2 * GIB
# "Well under a second" for a 5-row upsert into 1M rows (issue: small, frequent appends).
SPREAD_UPSERT_SECONDS = 0.5


@dataclass(frozen=True)
class Target:
    label: str
    measured: str
    ratio: float
    wanted: str
    met: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.met else "MISS"


def targets(workload: Workload, series: dict[str, Series]) -> list[Target]:
    """The targets, each time the minimum over its counted runs and each ratio minimum over minimum."""

    def versus(first: Series, second: Series) -> tuple[str, float]:
        return f"{first.describe()} vs {second.describe()}", first.minimum / second.minimum

    parse, naive, validate = series["arrow_parse"], series["naive"], series["validate"]
    measured, ratio = versus(validate, parse)
    found = [
        Target(
            "1: validation alone (read, parse, every check) vs pyarrow read_csv",
            measured,
            ratio,
            "<= 2x",
            ratio <= 2,
        ),
        Target(
            "1: naive csv+pydantic vs validation alone", *versus(naive, validate), "(for comparison)", True
        ),
    ]
    large = f"{workload.collection_rows:,}-row collection"
    for case, what in (("case1a", "1a (empty collection)"), ("case1b", f"1b ({large})")):
        measured, ratio = versus(series[case], parse)
        found.append(Target(f"{what}: validator vs pyarrow read_csv", measured, ratio, "<= 4x", ratio <= 4))
        measured, ratio = versus(naive, series[case])
        found.append(
            Target(f"{what}: naive csv+pydantic vs validator", measured, ratio, ">= 10x faster", ratio >= 10)
        )
    measured, ratio = versus(series["case2_full"], series["case2_empty"])
    found.append(
        Target(
            f"2: {workload.increment_rows:,}-row increment into the {large} vs an empty one",
            measured,
            ratio,
            "<= 5x",
            ratio <= 5,
        )
    )
    for case, what in (("case1a", "1a"), ("case1b", "1b"), ("case4", f"4 ({workload.huge_rows:,}-row file)")):
        peak = series[case].peak_rss
        found.append(Target(f"{what}: peak RSS", mib(peak), peak / GIB, "< 2 GiB", peak < RSS_LIMIT))
    start, _, end = upload_medians(series["case3"])
    found.append(
        Target(
            f"3: {len(series['case3'].figure('upload_seconds')):,} 5-row upserts,"
            " median of the last 50 vs the first 50",
            f"{end:.2f} s vs {start:.2f} s",
            end / start,
            "<= 1.5x",
            end / start <= 1.5,
        )
    )
    first, fastest, median = spread_upserts(series["case7"])
    found.append(
        Target(
            f"7: 5-row upsert of deals spread over the {large}, median of a warm validator's uploads",
            f"{median:.2f} s (min {fastest:.2f}; first upload {first:.2f}, not counted)",
            median,
            "<= 0.5 s",
            median <= SPREAD_UPSERT_SECONDS,
        )
    )
    return found


def spread_upserts(series: Series) -> tuple[float, float, float]:
    """Case 7: the first upload's time (a cold start of the table's caches, not counted), and the
    minimum and median of the others."""
    first, *rest = series.figure("upload_seconds")
    return first, min(rest or [first]), statistics.median(rest or [first])


def upload_medians(
    series: Series, figure: str = "upload_seconds", window: int = 50
) -> tuple[float, float, float]:
    """Median of a per-upload ``figure`` of case 3 over the first, middle and last ``window`` uploads."""
    seconds = series.figure(figure)
    middle = len(seconds) // 2 - window // 2
    return (
        statistics.median(seconds[:window]),
        statistics.median(seconds[middle : middle + window]),
        statistics.median(seconds[-window:]),
    )


def checks(workload: Workload, series: dict[str, Series]) -> list[str]:
    """The outcomes the cases must have had; a failed one makes the timings meaningless."""
    big, collection, increment = workload.big_rows, workload.collection_rows, workload.increment_rows
    expected: list[tuple[str, str, Callable[[Run], Any], Any]] = [
        ("arrow_parse", "rows", lambda run: run.figures["rows"], big),
        ("naive", "rows", lambda run: run.figures["rows"], big),
        ("case1a", "inserted", lambda run: run.figures["inserted"], big),
        ("case1a", "row count", lambda run: run.figures["row_count"], big),
        ("case1b", "inserted", lambda run: run.figures["inserted"], big),
        ("case1b", "row count", lambda run: run.figures["row_count"], collection + big),
        ("case2_empty", "inserted", lambda run: run.figures["inserted"], increment),
        ("case2_full", "updated", lambda run: run.figures["updated"], increment // 2),
        ("case2_full", "inserted", lambda run: run.figures["inserted"], increment - increment // 2),
        ("case3", "row count", lambda run: run.figures["row_count"], 5),
        ("validate", "rows", lambda run: run.figures["rows"], big),
        ("case4", "inserted", lambda run: run.figures["inserted"], workload.huge_rows),
        ("case7", "updated per upload", lambda run: set(run.figures["updated_per_upload"]), {5}),
        ("case7", "inserted per upload", lambda run: set(run.figures["inserted_per_upload"]), {0}),
    ]

    def every_run(found: Series) -> list[tuple[str, Run]]:
        # A discarded warm-up run is checked too: it did the same work, and a wrong outcome is a bug.
        return [(f"run {number}", run) for number, run in enumerate(found.runs)] + [
            ("warm-up run", run) for run in found.warmup
        ]

    failures = []
    for name, what, get, want in expected:
        for which, run in every_run(series[name]):
            if get(run) != want:
                failures.append(f"{name} {which}: {what} {get(run)} (expected {want})")
    for name in ("case1a", "case1b", "case2_empty", "case2_full"):
        for which, run in every_run(series[name]):
            failures += [
                f"{name} {which}: warning from the engine: {text}" for text in run.figures.get("warnings", [])
            ]
    return failures


def render(
    *,
    workload: Workload,
    files: WorkloadFiles,
    series: dict[str, Series],
    builds: dict[str, Run],
    machine: dict[str, str],
    machine_after: dict[str, str],
    phases: dict[str, float],
    total_seconds: float,
    logs: Path,
    command: str,
    profiles: Path | None,
    sections: list[str] | None = None,
) -> str:
    big_size = files.size(files.big)
    size_note = "default size" if workload.big_rows == DEFAULT_ROWS else f"ROWS={workload.big_rows}"
    increment_size = statistics.median(files.size(path) for path in files.increments)
    warmed = any(found.warmup for found in series.values())
    warmup_note = (
        " Case 1 runs in rounds, its measurements side by side, after a warm-up round (every measurement"
        " once) whose runs are discarded: they enter no figure."
        if warmed
        else ""
    )
    lines = [
        "# Validation and merge benchmark",
        "",
        f"`{command}` ({size_note}), {machine['date']}. Targets are reported, not asserted; each run"
        " is one fresh process, all on the same files in one run." + warmup_note + " A case's time is"
        " the minimum over its counted runs and a ratio minimum over minimum, shown with the spread"
        " (number of runs, range); the medians are under Measurements, and case 3 compares medians over"
        " the uploads of its one run. The machine may be shared: compare the ratios, not the seconds.",
        "",
        f"Workload: {workload.describe()}.",
        f"Big file {big_size / 1e6:.1f} MB ({big_size / MIB:.1f} MiB,"
        f" {big_size / workload.big_rows:.0f} bytes a row); increment {increment_size / 1e6:.2f} MB.",
    ]
    if workload.big_rows != DEFAULT_ROWS:
        lines += [
            "",
            f"**Scaled run**: the big file has {workload.big_rows:,} rows instead of {DEFAULT_ROWS:,} and"
            f" the large collection {workload.collection_rows:,} instead of {FULL_COLLECTION_ROWS:,}; the"
            " peak-RSS target is meant for the 100 MB file.",
        ]
    if profiles is not None:
        lines += [
            "",
            "**Profiled run** (`--profile`): the ingest cases ran under cProfile, so they are slower.",
        ]
    lines += [
        "",
        "## Targets",
        "",
        "| target | measured | ratio | wanted | result |",
        "|---|---|---|---|---|",
    ]
    for target in targets(workload, series):
        ratio = (
            f"{target.ratio:.2f} GiB"
            if "RSS" in target.label
            else f"{target.ratio:.2f} s"
            if target.wanted.endswith(" s")
            else f"{target.ratio:.2f}x"
        )
        lines.append(
            f"| {target.label} | {target.measured} | {ratio} | {target.wanted} | **{target.verdict}** |"
        )
    failures = checks(workload, series)
    lines += ["", "Outcome checks: " + ("all cases did what they should." if not failures else "**FAILED**")]
    lines += [f"- {failure}" for failure in failures]

    lines += [
        "",
        "## Measurements",
        "",
        "Minimum and median of the counted runs (wall clock of the timed work only); the minimum is the"
        " figure of the targets."
        + (" A warm-up run, discarded, is named beside the range and counts in no column." if warmed else "")
        + " CPU is the case process's own user+system time, the minimum over the runs (moto's work happens"
        " in the parent process and is not in it). Peak RSS is the process's high-water mark over the"
        " runs, imports included; 'before' is its RSS when the clock started.",
        "",
        "| case | min s | median s | runs (min-max s) | CPU s, min | peak RSS | RSS before | rows"
        " | outcome |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    labels = {
        "s3_read": "S3 read of the big file (moto, body drained)",
        "arrow_parse": "pyarrow.csv.read_csv of the big file (local disk)",
        "naive": "naive: csv.DictReader + Deal.model_validate per row (from S3)",
        "case1a": "1a: validator, big file into an empty collection",
        "case1b": f"1b: validator, big file into a {workload.collection_rows:,}-row collection",
        "case2_empty": "2: increment into an empty collection",
        "case2_full": f"2: increment into the {workload.collection_rows:,}-row collection",
        "validate": "1: validation alone of the big file (no merge)",
        "case4": f"4: validator, the {workload.huge_rows:,}-row file into the large collection",
    }
    for name, label in labels.items():
        found = series[name]
        rows, size = found.figure("rows"), found.figure("bytes")
        rows_text = f"{rows:,}" if rows is not None else f"{size:,} bytes" if size is not None else ""
        outcome = ""
        if found.figure("inserted") is not None:
            inserted, updated, total = (found.figure(key) for key in ("inserted", "updated", "row_count"))
            outcome = f"+{inserted:,} / ~{updated:,} → {total:,}"
        lines.append(
            f"| {label} | {found.minimum:.2f} | {found.median:.2f} | {found.spread()}"
            f" | {found.cpu_minimum:.2f} | {mib(found.peak_rss)} | {mib(found.rss_before)} | {rows_text}"
            f" | {outcome} |"
        )
    lines += [
        "",
        "Outcome: +inserted / ~updated → rows in the table after the merge. Case 2 into the large collection"
        " runs the increments one after the other (each the next day's export), each also into its own"
        " empty collection.",
        "",
        "## Building the large collections (not part of the targets)",
        "",
        "| collection | uploads | total s | first upload s | last upload s | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for name, run in builds.items():
        chunks = run.figures["chunk_seconds"]
        lines.append(
            f"| {name} ({run.figures['row_count']:,} rows) | {len(chunks)} | {run.seconds:.1f} |"
            f" {chunks[0]:.2f} | {chunks[-1]:.2f} | {mib(run.peak_rss_bytes)} |"
        )
    lines += small_upserts_section(series["case3"])
    lines += sections or []  # sections of their own: the drain (bench.drain), cold starts (bench.cold_start)
    lines += ["", "## Run", "", "| phase | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.0f} |" for name, seconds in phases.items()]
    lines += [f"| **total** | **{total_seconds:.0f}** ({total_seconds / 60:.1f} min) |"]
    lines += ["", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    lines.append(f"| load average at the end | {machine_after['load average (1, 5, 15 min)']} |")
    if profiles is not None:
        lines += profile_section(profiles)
    shown = logs.relative_to(Path.cwd()) if logs.is_relative_to(Path.cwd()) else logs
    lines += ["", f"Case logs and raw results: `{shown}` (git-ignored).", ""]
    return "\n".join(lines)


def small_upserts_section(synced: Series) -> list[str]:
    """Case 3: the upload times at the start, middle and end of the run, the CPU seconds behind
    them (the upload's own and the moto server's), and the table's history at the end."""
    lines = [
        "",
        "## Small, frequent upserts (case 3)",
        "",
        f"{len(synced.figure('upload_seconds')):,} consecutive upserts of the 5-row sample into one table,"
        " each a newer version of the same deals. Medians per upload. Beside its time, the CPU seconds"
        " it took in the case's process and in the moto server's, and the time of the same fixed work"
        " run after each upload (a Parquet encode and some Python, outside the upload's time): a rise"
        " that is the code's shows in the upload's CPU seconds, one that is the shared machine's shows"
        " in the fixed work too.",
        "",
        "| per upload | first 50 | middle 50 | last 50 | last / first |",
        "|---|---|---|---|---|",
    ]
    rows = (
        ("seconds", "upload_seconds"),
        ("CPU seconds, upload", "upload_cpu_seconds"),
        ("CPU seconds, moto server", "server_cpu_seconds"),
        ("fixed work after it, seconds (the machine)", "control_seconds"),
    )
    for what, figure in rows:
        if not synced.figure(figure):
            continue  # no /proc to read the server's CPU from, or a run from before the figure
        start, middle, end = upload_medians(synced, figure)
        lines.append(f"| {what} | {start:.3f} | {middle:.3f} | {end:.3f} | {end / start:.2f} |")
    return [
        *lines,
        "",
        "The table's history at the end (what every commit reads):",
        "",
        "| metadata.json | manifests | snapshots | rows |",
        "|---|---|---|---|",
        f"| {synced.figure('metadata_bytes'):,} bytes | {synced.figure('manifests')}"
        f" | {synced.figure('snapshots')} | {synced.figure('row_count')} |",
    ]


def profile_section(directory: Path, limit: int = 15) -> list[str]:
    """The heaviest engine and pyiceberg calls of the first counted run of each ingest case."""
    import pstats

    lines = [
        "",
        "## Profiles (cProfile, first counted run of each ingest case)",
        "",
        "Cumulative seconds seen from the main thread: a rough guide only, as pyiceberg's worker threads"
        " and generators make some frames count time twice. Open the `.prof` files for more"
        " (`python -m pstats <file>`).",
    ]
    firsts = [path for path in sorted(directory.glob("*.prof")) if "-0" in path.stem]
    for path in firsts:
        stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
        rows = []
        for (filename, line, function), (_, calls, _, cumulative, _) in stats.items():
            for package in ("ingestion/", "pyiceberg/"):
                if package in filename:
                    module = package + filename.split(package, 1)[1]
                    rows.append((cumulative, calls, f"{module}:{line} {function}"))
        rows.sort(reverse=True)
        lines += ["", f"`{path.name}`", "", "| cumulative s | calls | function |", "|---|---|---|"]
        lines += [f"| {seconds:.2f} | {calls} | `{name}` |" for seconds, calls, name in rows[:limit]]
    return lines
