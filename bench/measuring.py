"""What every measured case shares: the clock, the memory figures, and the engine's settings.

A case (:mod:`bench.cases`, :mod:`bench.table_maintenance`) runs in a fresh Python process;
:func:`measure` times its work and reads the process's peak RSS (``VmHWM``: the high-water
mark, imports included, which is what a Lambda's memory size must hold) and CPU seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _status_kib(field: str) -> int | None:
    """A memory figure of this process from /proc/self/status, in KiB (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_bytes() -> int:
    peak = _status_kib("VmHWM")
    if peak is None:  # no /proc: macOS, where ru_maxrss is in bytes
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * 1024


def rss_bytes() -> int:
    return (_status_kib("VmRSS") or 0) * 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu_seconds() -> float | None:
    """CPU seconds of the moto server so far: it runs in threads of the benchmark's parent, this
    case's parent process (``/proc/<ppid>/stat``, in clock ticks of 10 ms; None off Linux)."""
    try:
        fields = Path(f"/proc/{os.getppid()}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3 of stat(5), utime and stime fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(work: Callable[[], dict[str, Any]], profile: Path | None) -> dict[str, Any]:
    """Run ``work`` once under the clock; its own figures are merged into the result."""
    before_rss, before_cpu = rss_bytes(), cpu_seconds()
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    figures = work()
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - start
    if profiler and profile:
        profiler.dump_stats(profile)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - before_cpu,
        "peak_rss_bytes": peak_rss_bytes(),
        "rss_before_bytes": before_rss,
        **figures,
    }


def engine_settings(args: argparse.Namespace) -> Any:
    from ingestion.settings import Settings

    # The data plane uses only the bucket, the Glue database and the endpoint; every other
    # required setting (DynamoDB table names...) gets a placeholder, whatever settings exist.
    placeholders = {
        info.alias or name: f"bench-{name}"
        for name, info in Settings.model_fields.items()
        if info.is_required()
    }
    # The engine's own tuning may come from the environment, as in the validator.
    tunable = ("KEPT_ROWS_IN_MEMORY_MIB", "KEPT_ROWS_ON_DISK_MIB", "MERGE_PART_ROWS", "MAX_DECOMPRESSED_MIB")
    tuning = {name: os.environ[name] for name in tunable if name in os.environ}
    return Settings.model_validate(
        placeholders
        | tuning
        | {
            "DATA_BUCKET": args.bucket,
            "GLUE_DATABASE": args.database,
            "AWS_ENDPOINT_URL": args.endpoint,
            "AWS_REGION": "us-east-1",
        }
    )


def s3_client(args: argparse.Namespace) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1")


def outcome_figures(outcome: Any) -> dict[str, Any]:
    if outcome.status.value != "completed":
        raise RuntimeError(
            f"ingest_upload ended {outcome.status.value}: {outcome.message} {outcome.validation_errors}"
        )
    return {
        "rows": outcome.processed_lines,
        "inserted": outcome.rows_inserted,
        "updated": outcome.rows_updated,
        "row_count": outcome.row_count,
        "warnings": outcome.warnings,
    }


def import_data_plane() -> None:
    """What the data plane imports on first use, imported before the clock starts."""
    import pyarrow.parquet  # noqa: F401
    import pyiceberg.io.pyarrow  # noqa: F401


def fixed_work_seconds(rows: int = 5_000) -> float:
    """The time of the same small piece of work every call (``rows`` strings built in Python, then
    encoded as a Parquet file in memory): a control of the machine's speed at that moment, which
    tells a slower machine from slower code in a long series on shared cores."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = time.perf_counter()
    table = pa.table({"id": pa.array(range(rows)), "name": pa.array([f"deal-{i}" for i in range(rows)])})
    pq.write_table(table, pa.BufferOutputStream(), compression="zstd")
    return time.perf_counter() - start
