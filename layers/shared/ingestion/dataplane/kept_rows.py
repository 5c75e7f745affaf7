"""The rows validation keeps for the merge: in memory while they are few, on local disk after.

A file's good rows must all be known before anything is merged (a file is accepted or refused
whole), so validation keeps them until the end. For the files most uploads are that is an
Arrow table in memory; for a large one it would be several times the file in memory. So once
the kept rows pass :data:`SPILL_AFTER_BYTES`, every batch goes to an Arrow IPC file in a
temporary directory instead (read back one batch at a time), and the merge reads them part by
part (:mod:`.merge_in_parts`): memory stays bounded by a constant, not by the file.

Each kept batch holds the data type's columns, typed, and the text of columns the upload adds
(typed only at the end, once their type is inferred from every row).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

# Kept rows beyond this many bytes of Arrow memory go to local disk (Lambda's /tmp).
SPILL_AFTER_BYTES = 256 << 20

TypeNewColumn = Callable[[str, pa.Array], pa.Array]


class KeptBatches:
    """The kept batches of one file, in order, in memory or spilled to ``directory``."""

    def __init__(self, schema: pa.Schema, *, spill_after_bytes: int = SPILL_AFTER_BYTES) -> None:
        self.schema = schema  # the data type's columns, typed
        self.spill_after_bytes = spill_after_bytes
        self.num_rows = 0
        self._memory: list[pa.RecordBatch] = []
        self._bytes = 0
        self._directory: Path | None = None
        self._files: list[Path] = []

    @property
    def spilled(self) -> bool:
        return self._directory is not None

    def append(self, typed: list[pa.Array], new: dict[str, pa.Array], rows: int) -> None:
        """One batch's good rows: the typed columns, and the text of the new columns it has."""
        columns = list(self.schema) + [pa.field(name, pa.string()) for name in new]
        batch = pa.RecordBatch.from_arrays([*typed, *new.values()], schema=pa.schema(columns))
        self.num_rows += rows  # a batch without a column (nothing to keep) still counts its rows
        if self._directory is None:
            self._memory.append(batch)
            self._bytes += batch.nbytes
            if self._bytes > self.spill_after_bytes:
                self._spill_memory()
        else:
            self._write(batch)

    def clear(self) -> None:
        """Forget every batch (the file will not be merged)."""
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
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
            self._files = []

    def _stored(self) -> Iterator[pa.RecordBatch]:
        yield from self._memory
        for path in self._files:
            # Read into memory, not memory-mapped: a batch must outlive the file it came from.
            with pa.OSFile(str(path), "rb") as source:
                reader = pa.ipc.open_file(source)
                for index in range(reader.num_record_batches):
                    yield reader.get_batch(index)

    def _spill_memory(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="kept-rows-"))
        for batch in self._memory:
            self._write(batch)
        self._memory = []
        self._bytes = 0

    def _write(self, batch: pa.RecordBatch) -> None:
        assert self._directory is not None  # noqa: S101 - only called once spilling
        path = self._directory / f"{len(self._files):06d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
            writer.write_batch(batch)
        self._files.append(path)
