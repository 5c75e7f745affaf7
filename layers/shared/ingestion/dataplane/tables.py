"""Iceberg tables of a collection: one per (collection, data type), catalogued in Glue.

The table's schema, partitioning and sort order are derived from the data type's spec, so
the pydantic model stays the single definition of the data.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import IdentityTransform, MonthTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    DoubleType,
    IcebergType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from ingestion.settings import Settings, get_settings

_COLLECTION_ID = re.compile(r"^[a-z0-9]+$")
_DATA_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")
_PARTITION_FIELD_ID = 1000
# Our merge recomputes which rows win against the table it commits on; pyiceberg's own
# retry would instead replay the staged files on top of a newer table and could let a
# stale row win or duplicate a key. So pyiceberg must not retry: see merge.py.
TABLE_PROPERTIES = {"commit.retry.num-retries": "0"}

_SCALAR_TYPES: dict[FieldType, type[IcebergType]] = {
    FieldType.STRING: StringType,
    FieldType.INTEGER: LongType,
    FieldType.NUMBER: DoubleType,
    FieldType.BOOLEAN: BooleanType,
    FieldType.DATETIME: TimestamptzType,
    FieldType.DATE: DateType,
}


def get_catalog(settings: Settings | None = None) -> Catalog:
    """The Glue catalog for these settings, created once per process (one per settings)."""
    return _catalog(settings or get_settings())


@lru_cache(maxsize=8)
def _catalog(settings: Settings) -> Catalog:
    properties = {"type": "glue", "glue.region": settings.aws_region, "s3.region": settings.aws_region}
    if settings.aws_endpoint_url:
        # Outside AWS (local stack, tests) both Glue and S3 are reached through one endpoint.
        properties |= {"glue.endpoint": settings.aws_endpoint_url, "s3.endpoint": settings.aws_endpoint_url}
    return load_catalog("ingestion", **properties)


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


def iceberg_schema(data_type: DataTypeSpec) -> Schema:
    """The Iceberg schema of a data type; required spec fields become required columns."""
    next_id = len(data_type.fields) + 1
    columns = []
    for field_id, spec in enumerate(data_type.fields, start=1):
        if spec.type is FieldType.STRING_LIST:
            column_type: IcebergType = ListType(next_id, StringType(), element_required=False)
            next_id += 1
        else:
            column_type = _SCALAR_TYPES[spec.type]()
        columns.append(NestedField(field_id, spec.name, column_type, required=spec.required))
    return Schema(*columns)


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
            properties=TABLE_PROPERTIES,
        )
        logger.info("iceberg table ready", extra={"table": ".".join(identifier)})
    if table.properties.get("commit.retry.num-retries") != TABLE_PROPERTIES["commit.retry.num-retries"]:
        # A table made by another tool: switch pyiceberg's replaying retry off before merging.
        with table.transaction() as transaction:
            transaction.set_properties(
                {"commit.retry.num-retries": TABLE_PROPERTIES["commit.retry.num-retries"]}
            )
    return table


def read_row_count(
    collection_id: str, data_type: str, *, catalog: Catalog | None = None, settings: Settings | None = None
) -> int:
    """Rows currently in a collection's table of one type (0 when it has none yet)."""
    settings = settings or get_settings()
    catalog = catalog or get_catalog(settings)
    try:
        table = catalog.load_table(table_identifier(settings, collection_id, data_type))
    except NoSuchTableError:
        return 0
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary["total-records"] or 0)
