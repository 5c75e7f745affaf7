"""The rows validation keeps for the merge: in memory while they are few, on local disk after.

A file's good rows must all be known before anything is merged (a file is accepted or refused
whole), so validation keeps them until the end. For the files most uploads are that is an
Arrow table in memory; for a large one it would be several times the file in memory. So once
the kept rows pass :data:`SPILL_AFTER_BYTES`, every batch goes to an Arrow IPC file in a
temporary directory (:mod:`.local_disk`) instead (read back one batch at a time), and the
merge reads them part by part (:mod:`.merge_in_parts`): memory stays bounded by a constant,
not by the file.

Local disk does grow with the file: the kept rows take about as many bytes as the file (0.97x
for the benchmark's deals CSV), and the merge writes its winning rows once more beside them.
Typed columns can also take more than their text (an empty cell is one byte of CSV, eight of
an integer column), so a file within the size limit could still fill the disk: past
``max_spilled_bytes`` on disk the file is refused, saying so, before the disk is full.

Each kept batch holds the data type's columns, typed, and the text of columns the upload adds
(typed only at the end, once their type is inferred from every row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from ingestion.dataplane.local_disk import SpillDirectory
from ingestion.dataplane.records import UnreadableFile

# Kept rows beyond this many bytes of Arrow memory go to local disk (Lambda's /tmp)...
SPILL_AFTER_BYTES = 256 << 20
# ...and at most this many bytes to local disk: the merge writes the winners as much again
# beside them, so twice this must fit in the validator's EphemeralStorage.
MAX_SPILLED_BYTES = 3072 << 20

TypeNewColumn = Callable[[str, pa.Array], pa.Array]


class KeptObserver(Protocol):
    """Who sees each kept batch as it is kept (:mod:`.early_append`), until told the batches will
    not all come its way (the rows are dropped, spilled, or hold columns the data type lacks)."""

    def add(self, batch: pa.RecordBatch) -> None: ...

    def abandon(self) -> None: ...


class KeptBatches:
    """The kept batches of one file, in order, in memory or spilled to a directory on local disk."""

    def __init__(
        self,
        schema: pa.Schema,
        *,
        spill_after_bytes: int = SPILL_AFTER_BYTES,
        max_spilled_bytes: int = MAX_SPILLED_BYTES,
        observer: KeptObserver | None = None,
    ) -> None:
        self.schema = schema  # the data type's columns, typed
        self.observer = observer
        self.spill_after_bytes = spill_after_bytes
        self.max_spilled_bytes = max_spilled_bytes
        self.num_rows = 0
        self.spilled_bytes = 0
        self._memory: list[pa.RecordBatch] = []
        self._bytes = 0
        self._directory: SpillDirectory | None = None
        self._files: list[Path] = []

    @property
    def spilled(self) -> bool:
        return self._directory is not None

    def append(self, typed: list[pa.Array], new: dict[str, pa.Array], rows: int) -> None:
        """One batch's good rows: the typed columns, and the text of the new columns it has."""
        columns = list(self.schema) + [pa.field(name, pa.string()) for name in new]
        batch = pa.RecordBatch.from_arrays([*typed, *new.values()], schema=pa.schema(columns))
        self.num_rows += rows  # a batch without a column (nothing to keep) still counts its rows
        if self.observer is not None:
            if new:
                self._let_go()
            else:
                self.observer.add(batch)
        if self._directory is None:
            self._memory.append(batch)
            self._bytes += batch.nbytes
            if self._bytes > self.spill_after_bytes:
                self._spill_memory()
        else:
            self._write(batch)

    def clear(self) -> None:
        """Forget every batch (the file will not be merged)."""
        self._let_go()
        self._memory = []
        self._bytes = 0
        self.num_rows = 0
        self.close()

    def batches(self, new_fields: list[pa.Field], type_column: TypeNewColumn) -> Iterator[pa.RecordBatch]:
        """The kept batches with the data type's columns, then ``new_fields`` typed by ``type_column``
        (a batch lacking one has it empty)."""
        schema = pa.schema(list(self.schema) + new_fields)
        for batch in self._stored():
            arrays = [batch.column(field.name) for field in self.schema]
            for field in new_fields:
                index = batch.schema.get_field_index(field.name)
                cells = (
                    batch.column(index) if index >= 0 else pa.nulls(batch.num_rows, pa.string()).fill_null("")
                )
                arrays.append(type_column(field.name, cells))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    def close(self) -> None:
        """Delete what was spilled; the batches read from it must not be used any more."""
        if self._directory is not None:
            self._directory.close()
            self._directory = None
            self._files = []
            self.spilled_bytes = 0

    def _stored(self) -> Iterator[pa.RecordBatch]:
        yield from self._memory
        for path in self._files:
            # Read into memory, not memory-mapped: a batch must outlive the file it came from.
            with pa.OSFile(str(path), "rb") as source:
                reader = pa.ipc.open_file(source)
                for index in range(reader.num_record_batches):
                    yield reader.get_batch(index)

    def _let_go(self) -> None:
        if self.observer is not None:
            self.observer.abandon()
            self.observer = None

    def _spill_memory(self) -> None:
        self._let_go()  # spilled rows are merged part by part, not written early
        self._directory = SpillDirectory("kept-rows")
        for batch in self._memory:
            self._write(batch)
        self._memory = []
        self._bytes = 0

    def _write(self, batch: pa.RecordBatch) -> None:
        assert self._directory is not None  # noqa: S101 - only called once spilling
        path = self._directory.path / f"{len(self._files):06d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
            writer.write_batch(batch)
        self._files.append(path)
        self.spilled_bytes += path.stat().st_size
        if self.spilled_bytes > self.max_spilled_bytes:
            raise UnreadableFile(
                f"once read, the file's rows take more than {_size(self.max_spilled_bytes)}, the most one "
                "upload may hold; nothing was merged. Split it into smaller files and upload each"
            )


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit:,} bytes"
