"""What the benchmark measures on: the sizes, which deals go in which file, and the files.

At the default size the big file is about 100 MB of ``deals`` (:data:`DEFAULT_ROWS` rows),
the large collection holds :data:`FULL_COLLECTION_ROWS` rows and an increment is
:data:`INCREMENT_ROWS` rows. ``ROWS=n`` scales the big file to ``n`` rows and the large
collection by the same factor; the increment keeps its size (at most half the collection).

One :class:`~bench.synthetic_deals.DealHistory` numbers every deal: the collection is deals
``0..C-1``, the big file the next ``R``, and each increment's new deals come after those,
so no two files invent the same deal (and increment ``n`` is the same file however many
there are). The files are generated once into ``bench/data/`` (git-ignored) under a
directory named for the sizes, the seed and a digest of the generator's source, so a
changed generator never reuses stale files.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench import synthetic_deals
from bench.synthetic_deals import DealHistory, increment_rows, write_csv

DEFAULT_ROWS = 240_000  # ~427 bytes a row: ~102 MB (~98 MiB)
FULL_COLLECTION_ROWS = 1_000_000
INCREMENT_ROWS = 10_000
DEFAULT_SEED = 20_240_618
DEFAULT_BUILD_CHUNKS = 10
# The huge file (case 4) has this many times the big file's rows: about 1 GB at the default size.
HUGE_FACTOR = 10


@dataclass(frozen=True)
class Workload:
    seed: int
    big_rows: int
    collection_rows: int
    increment_rows: int
    increments: int  # increment files: one per repetition of case 2
    build_chunks: int  # the large collection is built by this many uploads

    @classmethod
    def scaled(
        cls,
        rows: int,
        *,
        seed: int = DEFAULT_SEED,
        increments: int = 3,
        build_chunks: int = DEFAULT_BUILD_CHUNKS,
        collection_rows: int | None = None,
        increment_rows: int | None = None,
    ) -> Workload:
        if rows < 1_000:
            raise ValueError("ROWS must be at least 1000")
        collection = collection_rows or round(FULL_COLLECTION_ROWS * rows / DEFAULT_ROWS)
        increment = increment_rows or min(INCREMENT_ROWS, collection // 2)
        return cls(
            seed=seed,
            big_rows=rows,
            collection_rows=collection,
            increment_rows=increment,
            increments=increments,
            build_chunks=max(1, min(build_chunks, collection)),
        )

    @property
    def scale(self) -> float:
        return self.big_rows / DEFAULT_ROWS

    @property
    def new_per_increment(self) -> int:
        return self.increment_rows - self.increment_rows // 2

    @property
    def history(self) -> DealHistory:
        # The increments' new deals come after the history, so their number changes no row.
        return DealHistory(seed=self.seed, size=self.collection_rows + self.big_rows)

    @property
    def huge_rows(self) -> int:
        return HUGE_FACTOR * self.big_rows

    @property
    def first_huge(self) -> int:
        """The huge file's deals come after every other file's, so it only inserts."""
        return self.collection_rows + self.big_rows + self.increments * self.new_per_increment

    def chunk_ranges(self) -> list[range]:
        bounds = [self.collection_rows * n // self.build_chunks for n in range(self.build_chunks + 1)]
        return [range(start, stop) for start, stop in itertools.pairwise(bounds)]

    def describe(self) -> str:
        note = (
            "default size"
            if self.big_rows == DEFAULT_ROWS
            else f"scaled by ROWS={self.big_rows} (x{self.scale:.3g} of the default {DEFAULT_ROWS})"
        )
        return (
            f"{note}: big file {self.big_rows:,} rows; large collection {self.collection_rows:,} rows "
            f"(stands for {FULL_COLLECTION_ROWS:,}, built by {self.build_chunks} uploads); "
            f"increments {self.increment_rows:,} rows ({self.increment_rows // 2:,} updates of recent deals, "
            f"{self.new_per_increment:,} new); huge file {self.huge_rows:,} rows; seed {self.seed}"
        )


@dataclass(frozen=True)
class WorkloadFiles:
    directory: Path
    big: Path
    increments: list[Path]
    chunks: list[Path]
    huge: Path

    def size(self, path: Path) -> int:
        return path.stat().st_size


def _generator_digest() -> str:
    source = Path(synthetic_deals.__file__).read_bytes()
    return hashlib.sha256(source).hexdigest()[:10]


def prepare_files(workload: Workload, root: Path) -> WorkloadFiles:
    """The workload's CSV files, generated now unless an earlier run left them in ``root``."""
    digest = _generator_digest()
    name = (
        f"seed{workload.seed}-rows{workload.big_rows}-collection{workload.collection_rows}"
        f"-increment{workload.increment_rows}-chunks{workload.build_chunks}-gen{digest}"
    )
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    for stale in root.glob("seed*-gen*"):
        if stale.is_dir() and not stale.name.endswith(f"-gen{digest}"):
            shutil.rmtree(stale)  # files of an older generator: never valid again
    history = workload.history
    files = WorkloadFiles(
        directory=directory,
        big=directory / "big.csv",
        increments=[directory / f"increment-{n}.csv" for n in range(workload.increments)],
        chunks=[directory / f"collection-{n:03d}.csv" for n in range(workload.build_chunks)],
        huge=directory / "huge.csv",
    )
    if not files.big.exists():
        start = workload.collection_rows
        write_csv(files.big, history.deals(start, start + workload.big_rows))
    first_new = workload.collection_rows + workload.big_rows
    for number, path in enumerate(files.increments):
        if not path.exists():
            rows = increment_rows(
                history,
                collection_rows=workload.collection_rows,
                first_new=first_new + number * workload.new_per_increment,
                size=workload.increment_rows,
                round_number=number,
            )
            write_csv(path, rows)
    for deals, path in zip(workload.chunk_ranges(), files.chunks, strict=True):
        if not path.exists():
            write_csv(path, history.deals(deals.start, deals.stop))
    if not files.huge.exists():
        write_csv(files.huge, history.deals(workload.first_huge, workload.first_huge + workload.huge_rows))
    return files
