"""Writing rows as a table's data files, one pass over their partition values.

pyiceberg splits a partitioned write by filtering the whole table once per partition value: a
file spanning 13 months was filtered 13 times (a second of the 100 MB benchmark). Rows here
are computed their partition value once, reordered only if they are not already grouped by it
(a stable sort, so rows keep the key order the merge gave them), and written as zero-copy
slices, one run of equal values at a time, with pyiceberg's own file writer
(:mod:`.parquet_files`). Any other spec than one partition field goes to pyiceberg's general path.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import _dataframe_to_data_files, bin_pack_arrow_table
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionField, PartitionFieldValue, PartitionKey, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.utils.concurrent import ExecutorFactory
from pyiceberg.utils.properties import property_as_int

from ingestion.dataplane.parquet_files import FileLayout, ParquetDataFile

_PARTITION = "__partition"
_SORT_KEY = "__sort_key"


def write_data_files(
    table_metadata: TableMetadata,
    rows: pa.Table,
    io: FileIO,
    *,
    sort_key: str | None = None,
    keep: pa.Array | None = None,
) -> list[DataFile]:
    """``rows`` (in the table's schema) written as data files, each in one partition.

    With ``sort_key``, each file holds its rows sorted on that column; with ``keep`` (a mask
    over ``rows``), only the rows it marks are written. Both happen in the one reorder that
    groups the rows by partition: each is a copy of every column otherwise.
    """
    spec = table_metadata.spec()
    if len(spec.fields) != 1:
        if keep is not None:
            rows = rows.filter(keep)
        if sort_key is not None:
            rows = rows.sort_by([(sort_key, "ascending")])
        if rows.num_rows == 0:
            return []
        return list(
            _dataframe_to_data_files(table_metadata=table_metadata, df=rows, io=io, write_uuid=uuid.uuid4())
        )
    if rows.num_rows == 0 or (keep is not None and not pc.any(keep).as_py()):
        return []
    field = spec.fields[0]
    schema = table_metadata.schema()
    rows, values = by_partition(rows, field, schema, sort_key=sort_key, keep=keep)
    target = property_as_int(
        table_metadata.properties,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
    )
    files: list[tuple[PartitionKey, pa.Table]] = []
    for start, stop in runs(values):
        key = partition_key(field, values[start].as_py(), spec, schema)
        part = rows.slice(start, stop - start)
        files += [(key, pa.Table.from_batches(batches)) for batches in bin_pack_arrow_table(part, target)]  # type: ignore[arg-type]
    return write_partition_files(table_metadata, io, files)


def write_partition_files(
    table_metadata: TableMetadata, io: FileIO, files: Sequence[tuple[PartitionKey, pa.Table]]
) -> list[DataFile]:
    """Each of ``files`` (the rows of one partition, in the table's schema) written as one data
    file, in parallel."""
    if not files:
        return []
    layout = FileLayout.of(table_metadata, max((rows for _, rows in files), key=lambda rows: rows.num_rows))
    locations = load_location_provider(table_metadata.location, table_metadata.properties)
    write_uuid = uuid.uuid4()

    def write(number: int) -> DataFile:
        key, rows = files[number]
        name = f"00000-{number}-{write_uuid}.parquet"  # as pyiceberg names them
        data_file = ParquetDataFile(layout, io, locations.new_data_location(name, partition_key=key), key)
        try:
            data_file.write(rows)
        except BaseException:
            with contextlib.suppress(Exception):  # the write's error is the one to raise
                data_file.abort()
            raise
        return data_file.close()

    # One file per thread of pyiceberg's writing pool, as its own write_file does.
    return list(ExecutorFactory.get_or_create().map(write, range(len(files))))


def by_partition(
    rows: pa.Table,
    field: PartitionField,
    schema: Schema,
    *,
    sort_key: str | None = None,
    keep: pa.Array | None = None,
) -> tuple[pa.Table, pa.Array]:
    """``rows`` with the rows of each value of partition ``field`` together, and those values,
    computed once.

    The reorder is stable, and done only if needed, unless ``sort_key`` orders each
    partition's rows on that column or ``keep`` (a mask over ``rows``) drops some: the sort
    runs on the partition values and keys alone, and every column is copied once.
    """
    kept = pc.indices_nonzero(keep) if keep is not None else None

    def selected(name: str) -> pa.ChunkedArray | pa.Array:
        return rows.column(name) if kept is None else rows.column(name).take(kept)

    values = partition_values(selected(schema.find_column_name(field.source_id)), field, schema)
    if sort_key is None and kept is None and _grouped(values):
        return rows, values
    order_by = {_PARTITION: values} | ({_SORT_KEY: selected(sort_key)} if sort_key is not None else {})
    order = pc.sort_indices(
        pa.table(order_by),
        sort_keys=[(_PARTITION, "ascending", "at_end")]
        + ([(_SORT_KEY, "ascending", "at_end")] if sort_key is not None else []),
    )
    return rows.take(order if kept is None else kept.take(order)), values.take(order)


def partition_values(column: pa.ChunkedArray | pa.Array, field: PartitionField, schema: Schema) -> pa.Array:
    """The values of partition ``field`` for ``column``, its source column."""
    source = schema.find_field(field.source_id)
    return field.transform.pyarrow_transform(source.field_type)(column).combine_chunks()


def partition_key(field: PartitionField, value: object, spec: PartitionSpec, schema: Schema) -> PartitionKey:
    """The partition of the one-field ``spec`` whose value is ``value`` (as
    :func:`partition_values` gives it)."""
    return PartitionKey(
        field_values=[PartitionFieldValue(field=field, value=value)], partition_spec=spec, schema=schema
    )


def _grouped(values: pa.Array) -> bool:
    """Whether equal values already sit together in ascending order (nulls last)."""
    valid = values.drop_null()
    if len(valid) < len(values) and values.slice(len(valid)).null_count != len(values) - len(valid):
        return False  # a null before a value
    if len(valid) < 2:
        return True
    return pc.all(pc.greater_equal(valid.slice(1), valid.slice(0, len(valid) - 1))).as_py() is not False


def runs(values: pa.Array) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal values (nulls being one run)."""
    if len(values) == 0:
        return []
    previous, current = values.slice(0, len(values) - 1), values.slice(1)
    changed = pc.fill_null(pc.not_equal(previous, current), True)
    both_null = pc.and_(pc.is_null(previous), pc.is_null(current))
    changed = pc.and_(changed, pc.invert(both_null))
    starts = [0] + [index + 1 for index in pc.indices_nonzero(changed).to_pylist()]
    return list(itertools.pairwise([*starts, len(values)]))
