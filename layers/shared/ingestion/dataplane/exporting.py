"""Writing every row of a data type into one file: CSV, NDJSON or Parquet.

The table is read batch by batch and each batch written as it comes, so an export holds one
batch in memory whatever the table's size; the file goes to local disk, and the caller stores it.

**CSV is written as an upload takes it**, so an export can be appended again unchanged: a
header of the column names, ``,`` between fields, quotes only where a value needs them, date-times
in ISO 8601 with ``Z``, dates ISO, booleans ``true``/``false``, lists joined with ``;`` and
empty cells for nulls. **NDJSON** has one JSON object per row with the values the rows API gives
(:func:`.reading.json_value`). **Parquet** keeps the table's own types.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from pyiceberg.table import Table

from ingestion.dataplane.column_checks import arrow_type
from ingestion.dataplane.reading import json_value
from ingestion.domain import ExportFormat
from ingestion.schemas.spec import DataTypeSpec

# What joins the items of a list in a CSV cell (what uploads split them on).
LIST_SEPARATOR = ";"


def export_rows(table: Table | None, data_type: DataTypeSpec, file_format: ExportFormat, path: Path) -> int:
    """Write every row of ``table`` (None: the data type has none yet) to ``path``; the row count."""
    batches = _batches(table)
    schema = batches.schema if batches is not None else _empty_schema(data_type)
    rows = batches if batches is not None else iter(())
    if file_format is ExportFormat.CSV:
        return _write_csv(schema, rows, path)
    if file_format is ExportFormat.NDJSON:
        return _write_ndjson(rows, path)
    return _write_parquet(schema, rows, path)


def _batches(table: Table | None) -> pa.RecordBatchReader | None:
    if table is None or table.current_snapshot() is None:
        return None
    return table.scan().to_arrow_batch_reader()


def _empty_schema(data_type: DataTypeSpec) -> pa.Schema:
    """The columns of a data type that holds no rows yet (an inferred one has none)."""
    return pa.schema([pa.field(spec.name, arrow_type(spec)) for spec in data_type.fields])


def _write_csv(schema: pa.Schema, batches: Iterator[pa.RecordBatch], path: Path) -> int:
    text_schema = pa.schema([pa.field(field.name, pa.string()) for field in schema])
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(schema.names)  # Arrow would quote every name
    count = 0
    with path.open("wb") as out:
        out.write(header.getvalue().encode())
        options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
        with pa_csv.CSVWriter(out, text_schema, write_options=options) as writer:
            for batch in batches:
                writer.write_batch(
                    pa.record_batch([_as_upload_text(column) for column in batch.columns], schema=text_schema)
                )
                count += batch.num_rows
    return count


def _as_upload_text(column: pa.Array) -> pa.Array:
    """A column's cells as an upload writes them."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
        return pc.binary_join_element_wise(text, "Z", "") if kind.tz is not None else text
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        # pyiceberg reads lists as large lists of large strings
        return pc.binary_join(pc.cast(column, pa.list_(pa.string())), LIST_SEPARATOR)
    if pa.types.is_boolean(kind):
        return pc.if_else(column, "true", "false")
    return pc.cast(column, pa.string())


def _write_ndjson(batches: Iterator[pa.RecordBatch], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for batch in batches:
            for row in batch.to_pylist():
                out.write(
                    json.dumps({name: json_value(value) for name, value in row.items()}, ensure_ascii=False)
                )
                out.write("\n")
            count += batch.num_rows
    return count


def _write_parquet(schema: pa.Schema, batches: Iterator[pa.RecordBatch], path: Path) -> int:
    count = 0
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            count += batch.num_rows
    return count
