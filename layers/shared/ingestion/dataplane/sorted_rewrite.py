"""Rewriting a few data files around a small change without copying their rows.

A small upsert replaces a handful of rows in a few data files; copy-on-write must write those
files again whole. Each file holds one partition, sorted on the key (the merge writes them so),
so the new file is the old rows with the replaced ones left out and the incoming ones put in
key order: :func:`interleave` builds it from zero-copy slices of the rows as read, where a sort
and a gather would copy every column of every row (on the bench's 5-row upsert into 1M rows, an
eighth of the upload's time).

:func:`rewrite_sorted_files` does that for each file, with the rows for its partition, and
writes the incoming rows no such file's partition takes as files of their own. It gives up
(None, and the caller sorts all the rows as before) unless every file is sorted on the key and
alone in its partition of the table's only spec, and the change to each is small.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionField, PartitionKey
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import Record

from ingestion.dataplane.writing import (
    partition_key,
    partition_values,
    write_data_files,
    write_partition_files,
)

# Beyond this many rows left out or put in, a file is rewritten by sorting: each edit is two
# more slices for the writer to go through.
MAX_EDITS_PER_FILE = 64

_INSERT, _DROP = 0, 1
_KEY_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer)


@dataclass(frozen=True)
class StoredFile:
    """A data file an upsert replaces rows of, and its rows as read (in the table's schema)."""

    file: DataFile
    rows: pa.Table


def rewrite_sorted_files(
    metadata: TableMetadata,
    io: FileIO,
    stored: Sequence[StoredFile],
    rows: pa.Table,
    key: str,
    replaced_keys: pa.Array,
) -> list[DataFile] | None:
    """The files replacing ``stored``: each without its rows whose key is in ``replaced_keys``
    and with the rows of ``rows`` in its partition, in key order; then ``rows`` in partitions of
    no stored file. None when they cannot be made from slices (see the module's docstring).

    ``rows`` and every file's rows are in the table's schema.
    """
    spec = metadata.spec()
    if len(metadata.partition_specs) != 1 or len(spec.fields) != 1:
        return None  # files of an earlier spec, or more than one partition value per file
    if not any(is_type(rows.schema.field(key).type) for is_type in _KEY_TYPES):
        return None
    field = spec.fields[0]
    incoming = _partitioned(rows, field, metadata)
    files: dict[Record, tuple[PartitionKey, pa.Table]] = {}
    for item in stored:
        partition = _file_partition(item, field, metadata)
        if partition is None or partition.partition in files:
            return None  # rows of another partition, or two files in one partition: sort them
        mine = incoming.pop(partition.partition, None)
        merged = interleave(item.rows, mine if mine is not None else rows.slice(0, 0), key, replaced_keys)
        if merged is None:
            return None
        files[partition.partition] = (partition, merged)
    written = write_partition_files(metadata, io, list(files.values()))
    left = [part for part in incoming.values() if part.num_rows]
    if left:
        written += write_data_files(metadata, pa.concat_tables(left), io, sort_key=key)
    return written


def interleave(kept: pa.Table, incoming: pa.Table, key: str, removed: pa.Array) -> pa.Table | None:
    """``kept`` without its rows whose ``key`` is in ``removed``, with the rows of ``incoming``
    put in key order, as zero-copy slices of both; None unless ``kept`` is strictly ascending on
    a key without nulls and the edits are at most :data:`MAX_EDITS_PER_FILE`.

    ``incoming`` holds keys not in ``kept`` but for those in ``removed``; both tables have
    one schema.
    """
    keys = kept.column(key).combine_chunks()
    new_keys = incoming.column(key)
    if keys.null_count or new_keys.null_count or not _strictly_ascending(keys):
        return None
    dropped = pc.indices_nonzero(pc.is_in(keys, value_set=removed)).to_pylist() if len(removed) else []
    if len(dropped) + incoming.num_rows > MAX_EDITS_PER_FILE:
        return None
    incoming = incoming.sort_by(key)
    # Arrow orders strings by their UTF-8 bytes, which is Python's order of the decoded text.
    stored = _Keys(keys)
    new_values = incoming.column(key).to_pylist()
    inserts = [(bisect.bisect_left(stored, value), _INSERT, row) for row, value in enumerate(new_values)]
    # Where an incoming row takes the place of a stored one, it goes in before that one is left out.
    edits = sorted(inserts + [(position, _DROP, position) for position in dropped])
    pieces, start = [], 0
    for position, kind, row in edits:
        if position > start:
            pieces.append(kept.slice(start, position - start))
        if kind == _INSERT:
            pieces.append(incoming.slice(row, 1))
            start = position
        else:
            start = position + 1
    pieces.append(kept.slice(start))
    return pa.concat_tables(pieces)


class _Keys(Sequence[object]):
    """An Arrow array as a sequence of Python values, for :mod:`bisect` to search."""

    def __init__(self, values: pa.Array) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: int) -> object:  # type: ignore[override]
        return self.values[index].as_py()


def _strictly_ascending(keys: pa.Array) -> bool:
    if len(keys) < 2:
        return True
    return bool(pc.all(pc.greater(keys.slice(1), keys.slice(0, len(keys) - 1))).as_py())


def _partitioned(rows: pa.Table, field: PartitionField, metadata: TableMetadata) -> dict[Record, pa.Table]:
    """``rows`` by the partition they belong in."""
    schema = metadata.schema()
    values = partition_values(rows.column(schema.find_column_name(field.source_id)), field, schema)
    parts: dict[Record, pa.Table] = {}
    for value in pc.unique(values).to_pylist():
        mask = pc.is_null(values) if value is None else pc.fill_null(pc.equal(values, value), False)
        parts[partition_key(field, value, metadata.spec(), schema).partition] = rows.filter(mask)
    return parts


def _file_partition(item: StoredFile, field: PartitionField, metadata: TableMetadata) -> PartitionKey | None:
    """The partition of a stored file, as the writer names it, when its first row's partition
    is the one its manifest entry gives (every row of a data file is in its partition)."""
    if item.rows.num_rows == 0:
        return None
    schema = metadata.schema()
    first = item.rows.column(schema.find_column_name(field.source_id)).slice(0, 1)
    partition = partition_key(
        field, partition_values(first, field, schema)[0].as_py(), metadata.spec(), schema
    )
    return partition if partition.partition == item.file.partition else None
