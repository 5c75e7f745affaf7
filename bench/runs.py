"""The benchmark's measurements: one case process (:class:`Run`) and repeated runs (:class:`Series`).

The figure of a series is the minimum over its counted runs, and a ratio of two series is
minimum over minimum: on a shared machine noise only ever adds time, so the fastest run is
the closest to what the code costs. The median and the spread (the range and the number of
runs) are reported beside it. A warm-up run (case 1 runs a whole round first) is kept apart
and enters no figure: it pays for cold caches and the moto server's first requests.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Run:
    """One case's process: its timed work and the process's memory."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    rss_before_bytes: int
    process_seconds: float  # the whole process, start-up and imports included
    figures: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, path: Path, *, process_seconds: float) -> Run:
        data = json.loads(path.read_text())
        keys = ("seconds", "cpu_seconds", "peak_rss_bytes", "rss_before_bytes")
        return cls(**{key: data.pop(key) for key in keys}, process_seconds=process_seconds, figures=data)

    def summary(self) -> str:
        figures = ", ".join(
            f"{key} {value:,}" for key, value in self.figures.items() if isinstance(value, int)
        )
        return (
            f"{self.seconds:8.2f} s  cpu {self.cpu_seconds:7.2f} s  peak RSS {mib(self.peak_rss_bytes)}"
            + (f"  ({figures})" if figures else "")
        )


@dataclass(frozen=True)
class Series:
    """Repeated runs of one case: the minimum over the counted ``runs`` is the figure used.

    ``warmup`` holds the runs of a discarded warm-up round: their outcomes are checked, but no
    time, CPU time or memory figure counts them.
    """

    name: str
    runs: list[Run]
    warmup: list[Run] = field(default_factory=list)

    @property
    def minimum(self) -> float:
        return min(run.seconds for run in self.runs)

    @property
    def median(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu_minimum(self) -> float:
        return min(run.cpu_seconds for run in self.runs)

    @property
    def peak_rss(self) -> int:
        return max(run.peak_rss_bytes for run in self.runs)

    @property
    def rss_before(self) -> int:
        return max(run.rss_before_bytes for run in self.runs)

    def counted(self) -> str:
        """The number of counted runs and their range: ``3 runs, 1.17-1.25``."""
        if len(self.runs) == 1:
            return "1 run"
        times = [run.seconds for run in self.runs]
        return f"{len(times)} runs, {min(times):.2f}-{max(times):.2f}"

    def spread(self) -> str:
        """:meth:`counted`, and the discarded warm-up's time if there was one."""
        if not self.warmup:
            return self.counted()
        warmup = ", ".join(f"{run.seconds:.2f}" for run in self.warmup)
        return f"{self.counted()}; warm-up {warmup} discarded"

    def describe(self) -> str:
        """The figure with its spread: ``1.17 s (3 runs, 1.17-1.25)``."""
        return f"{self.minimum:.2f} s ({self.counted()})"

    def figure(self, key: str) -> Any:
        return self.runs[-1].figures.get(key)


def mib(size: int) -> str:
    return f"{size / GIB:.2f} GiB" if size >= GIB else f"{size / MIB:.0f} MiB"
