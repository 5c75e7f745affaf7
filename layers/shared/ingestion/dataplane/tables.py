"""Iceberg tables of a collection: one per (collection, data type), catalogued in Glue.

The table's schema, partitioning and sort order are derived from the data type's spec, so
the pydantic model stays the single definition of the data. Declared data types record
their key and version field as table properties, so that :func:`read_table_spec` gives back
the whole data type once uploads have added columns or inferred them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.io import PY_IO_IMPL
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table, TableProperties
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import IdentityTransform, MonthTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
    TimestamptzType,
)

from ingestion.dataplane import manifest_entries
from ingestion.dataplane.glue_catalog import IngestionGlueCatalog
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from ingestion.settings import Settings, get_settings

_COLLECTION_ID = re.compile(r"^[a-z0-9]+$")
_DATA_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")
_PARTITION_FIELD_ID = 1000
# Our merge recomputes which rows win against the table it commits on; pyiceberg's own
# retry would instead replay the staged files on top of a newer table and could let a
# stale row win or duplicate a key. So pyiceberg must not retry: see merge.py. The others keep
# what each commit reads and writes bounded as the table's history grows: see commits.py.
# Merge the small manifests of single commits once this many have piled up: a scan of the
# table reads at most about this many besides the merged ones.
MIN_MANIFESTS_TO_MERGE = 16
# Previous metadata files listed in metadata.json (older ones are deleted after each commit).
PREVIOUS_METADATA_VERSIONS = 20
# The catalog's FileIO, by the path pyiceberg imports it from.
FILE_IO = "ingestion.dataplane.file_io.IngestionFileIO"
TABLE_PROPERTIES = {
    "commit.retry.num-retries": "0",
    TableProperties.MANIFEST_MERGE_ENABLED: "true",
    TableProperties.MANIFEST_MIN_MERGE_COUNT: str(MIN_MANIFESTS_TO_MERGE),
    TableProperties.METADATA_DELETE_AFTER_COMMIT_ENABLED: "true",
    TableProperties.METADATA_PREVIOUS_VERSIONS_MAX: str(PREVIOUS_METADATA_VERSIONS),
}
# What the schema cannot say about a data type, recorded on its table at creation so that
# :func:`read_table_spec` gives the whole data type back.
KEY_PROPERTY = "ingestion.key"
VERSION_FIELD_PROPERTY = "ingestion.version-field"

_SCALAR_TYPES: dict[FieldType, type[IcebergType]] = {
    FieldType.STRING: StringType,
    FieldType.INTEGER: LongType,
    FieldType.NUMBER: DoubleType,
    FieldType.BOOLEAN: BooleanType,
    FieldType.DATETIME: TimestamptzType,
    FieldType.DATE: DateType,
}
_READ_AS: dict[FieldType, tuple[type[IcebergType], ...]] = {
    FieldType.INTEGER: (LongType, IntegerType),
    FieldType.NUMBER: (DoubleType, FloatType),
    FieldType.BOOLEAN: (BooleanType,),
    FieldType.DATETIME: (TimestamptzType, TimestampType),
    FieldType.DATE: (DateType,),
    FieldType.STRING: (StringType,),
}


def get_catalog(settings: Settings | None = None) -> Catalog:
    """The Glue catalog for these settings, created once per process (one per settings)."""
    return _catalog(settings or get_settings())


@lru_cache(maxsize=8)
def _catalog(settings: Settings) -> Catalog:
    properties = {
        "glue.region": settings.aws_region,
        "s3.region": settings.aws_region,
        PY_IO_IMPL: FILE_IO,  # fewer S3 round trips (:mod:`.file_io`)
    }
    if settings.aws_endpoint_url:
        # Outside AWS (local stack, tests) both Glue and S3 are reached through one endpoint.
        properties |= {"glue.endpoint": settings.aws_endpoint_url, "s3.endpoint": settings.aws_endpoint_url}
    manifest_entries.install()  # each manifest decoded once per process
    return IngestionGlueCatalog("ingestion", **properties)  # fewer Glue and S3 round trips per commit


def table_identifier(settings: Settings, collection_id: str, data_type: str) -> tuple[str, str]:
    """(Glue database, table name) of a collection's data of one type.

    Both parts are checked because they become Glue and S3 names: an id outside the
    documented alphabet is a bug upstream, not something to escape here.
    """
    if not _COLLECTION_ID.fullmatch(collection_id):
        raise ValueError(f"collection id {collection_id!r} must be lowercase letters and digits")
    if not _DATA_TYPE.fullmatch(data_type):
        raise ValueError(f"data type name {data_type!r} must match {_DATA_TYPE.pattern}")
    return settings.glue_database, f"{collection_id}_{data_type}"


def table_location(settings: Settings, collection_id: str, data_type: str) -> str:
    return f"{settings.warehouse_location}/{collection_id}/{data_type}"


def iceberg_type(spec: FieldSpec, element_id: int = 1) -> IcebergType:
    """The Iceberg type of a field; ``element_id`` numbers a list's element (fresh ids are assigned
    when a column is added to an existing table)."""
    if spec.type is FieldType.STRING_LIST:
        return ListType(element_id, StringType(), element_required=False)
    return _SCALAR_TYPES[spec.type]()


def iceberg_schema(data_type: DataTypeSpec) -> Schema:
    """The Iceberg schema of a data type; required spec fields become required columns."""
    next_id = len(data_type.fields) + 1
    columns = []
    for field_id, spec in enumerate(data_type.fields, start=1):
        column_type = iceberg_type(spec, next_id)
        if spec.type is FieldType.STRING_LIST:
            next_id += 1
        columns.append(NestedField(field_id, spec.name, column_type, required=spec.required))
    return Schema(*columns)


def spec_from_schema(
    name: str, schema: Schema, *, key: str | None = None, version_field: str | None = None
) -> DataTypeSpec:
    """The data type a table's schema implies: its columns in order, with their required flags.

    Types the engine never writes are read as the closest field type (``int`` as integer,
    ``float`` as number, a zone-less timestamp as datetime); any other column is text.
    """
    fields = []
    for column in schema.fields:
        column_type = column.field_type
        if isinstance(column_type, ListType):
            fields.append(
                FieldSpec(
                    name=column.name, type=FieldType.STRING_LIST, required=column.required, list_separator=";"
                )
            )
            continue
        kind = next(
            (kind for kind, types in _READ_AS.items() if isinstance(column_type, types)), FieldType.STRING
        )
        fields.append(FieldSpec(name=column.name, type=kind, required=column.required))
    return DataTypeSpec(name=name, fields=tuple(fields), key=key, version_field=version_field)


def partition_source(data_type: DataTypeSpec) -> FieldSpec | None:
    """The datetime column whose month partitions the table.

    The first *required* datetime field (``creationDatetime`` for deals) is preferred: it is
    never null and does not change when a row is updated, so an update rewrites the one
    partition holding the old row. Otherwise the version field, otherwise the first datetime.
    """
    datetimes = [f for f in data_type.fields if f.type is FieldType.DATETIME]
    for candidate in (
        next((f for f in datetimes if f.required), None),
        next((f for f in datetimes if f.name == data_type.version_field), None),
        next(iter(datetimes), None),
    ):
        if candidate is not None:
            return candidate
    return None


def partition_spec(data_type: DataTypeSpec, schema: Schema) -> PartitionSpec:
    source = partition_source(data_type)
    if source is None:
        return UNPARTITIONED_PARTITION_SPEC
    source_id = schema.find_field(source.name).field_id
    return PartitionSpec(
        PartitionField(source_id, _PARTITION_FIELD_ID, MonthTransform(), f"{source.name}_month")
    )


def sort_order(data_type: DataTypeSpec, schema: Schema) -> SortOrder:
    """Rows sorted on the key, so a key lookup reads few row groups."""
    if data_type.key is None:
        return SortOrder()
    return SortOrder(SortField(schema.find_field(data_type.key).field_id, IdentityTransform()))


def data_type_properties(data_type: DataTypeSpec) -> dict[str, str]:
    properties = {}
    if data_type.key:
        properties[KEY_PROPERTY] = data_type.key
    if data_type.version_field:
        properties[VERSION_FIELD_PROPERTY] = data_type.version_field
    return properties


def load_table(catalog: Catalog, settings: Settings, collection_id: str, data_type: str) -> Table | None:
    """The collection's table of one type, or None when it has none yet."""
    try:
        return catalog.load_table(table_identifier(settings, collection_id, data_type))
    except NoSuchTableError:
        return None


def table_spec(table: Table, name: str) -> DataTypeSpec:
    """The data type implied by a table: its schema, and the key and version field it records."""
    properties = table.properties
    return spec_from_schema(
        name,
        table.schema(),
        key=properties.get(KEY_PROPERTY),
        version_field=properties.get(VERSION_FIELD_PROPERTY),
    )


def read_table_spec(
    collection_id: str, data_type: str, *, catalog: Catalog | None = None, settings: Settings | None = None
) -> DataTypeSpec | None:
    """The data type a collection's table of ``data_type`` now has, or None when there is no table.

    Fields come in the table's column order with their required flags, so after an inferred
    first append or a field addition this is the schema to declare.
    """
    settings = settings or get_settings()
    table = load_table(catalog or get_catalog(settings), settings, collection_id, data_type)
    return None if table is None else table_spec(table, data_type)


def load_or_create_table(
    catalog: Catalog, settings: Settings, collection_id: str, data_type: DataTypeSpec
) -> Table:
    """The collection's table, created (with its Glue database) on first use.

    Two writers may both find the table missing; ``create_table_if_not_exists`` turns the
    loser's "already exists" into loading the winner's table.
    """
    identifier = table_identifier(settings, collection_id, data_type.name)
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        catalog.create_namespace_if_not_exists(identifier[0])
        schema = iceberg_schema(data_type)
        table = catalog.create_table_if_not_exists(
            identifier,
            schema,
            location=table_location(settings, collection_id, data_type.name),
            partition_spec=partition_spec(data_type, schema),
            sort_order=sort_order(data_type, schema),
            properties=TABLE_PROPERTIES | data_type_properties(data_type),
        )
        logger.info("iceberg table ready", extra={"table": ".".join(identifier)})
    differing = {
        name: value for name, value in TABLE_PROPERTIES.items() if table.properties.get(name) != value
    }
    if differing:
        # A table made by another tool, or before these properties: set them before merging
        # (pyiceberg's replaying retry off, history bounded).
        with table.transaction() as transaction:
            transaction.set_properties(differing)
    return table


def read_row_count(
    collection_id: str, data_type: str, *, catalog: Catalog | None = None, settings: Settings | None = None
) -> int:
    """Rows currently in a collection's table of one type (0 when it has none yet)."""
    settings = settings or get_settings()
    table = load_table(catalog or get_catalog(settings), settings, collection_id, data_type)
    if table is None:
        return 0
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary["total-records"] or 0)


def delete_objects(s3: Any, bucket: str, keys: Sequence[str]) -> None:
    """Delete these objects of a table's bucket, a thousand per request as S3 takes them."""
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]], "Quiet": True},
        )
