"""Declaring data types and finding the schema an upload is checked against."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingestion.errors import DataTypeConflict, DataTypeNotFound, InvalidInput
from ingestion.identifiers import DATA_TYPE_PATTERN
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.data_types import DataTypeRepository, get_data_type_repository
from ingestion.schemas import BUILT_IN_DATA_TYPES
from ingestion.schemas.spec import DECLARABLE_TYPES, DataTypeSpec, FieldType, spec_from_declaration

# Types a version field can be compared on.
ORDERED_TYPES = (FieldType.INTEGER, FieldType.NUMBER, FieldType.DATETIME, FieldType.DATE)


@dataclass(frozen=True)
class Declaration:
    """What a caller declared: either fields (with optional key and version field) or inference."""

    fields: list[tuple[str, FieldType, bool]] | None
    key: str | None
    version_field: str | None
    infer_schema: bool


def resolve_data_type(
    collection_id: str, data_type: str, data_types: DataTypeRepository | None = None
) -> DataTypeSpec:
    """The schema uploads of ``data_type`` are checked against: built in, or declared in the collection."""
    if data_type in BUILT_IN_DATA_TYPES:
        return BUILT_IN_DATA_TYPES[data_type]
    if not re.match(DATA_TYPE_PATTERN, data_type):
        raise DataTypeNotFound(data_type, list(BUILT_IN_DATA_TYPES))
    data_types = data_types or get_data_type_repository()
    spec = data_types.find(collection_id, data_type)
    if spec is None:
        raise DataTypeNotFound(data_type, list(BUILT_IN_DATA_TYPES))
    return spec


def declare_data_type(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    declaration: Declaration,
    collections: CollectionRepository | None = None,
    data_types: DataTypeRepository | None = None,
) -> tuple[DataTypeSpec, bool]:
    """Declare a data type; returns it and whether it was created (False: identical one existed)."""
    collections = collections or get_collection_repository()
    data_types = data_types or get_data_type_repository()
    collections.get_for_tenant(collection_id, tenant_id)
    if data_type in BUILT_IN_DATA_TYPES:
        raise DataTypeConflict(
            f"'{data_type}' is a built-in data type with a fixed schema; it cannot be declared"
        )
    spec = _spec(data_type, declaration)
    if data_types.create(collection_id, spec):
        return spec, True
    existing = data_types.find(collection_id, data_type)
    if existing is not None and _same_declaration(existing, spec):
        return existing, False
    raise DataTypeConflict(
        f"data type '{data_type}' is already declared with another schema; its schema grows only "
        "through appends sent with allowFieldAddition=true"
    )


def describe_data_type(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    collections: CollectionRepository | None = None,
    data_types: DataTypeRepository | None = None,
) -> tuple[DataTypeSpec, int]:
    """A data type's schema and its row count in the collection."""
    collections = collections or get_collection_repository()
    collection = collections.get_for_tenant(collection_id, tenant_id)
    spec = resolve_data_type(collection_id, data_type, data_types)
    stats = collection.data_types.get(data_type)
    return spec, stats.row_count if stats else 0


def _spec(data_type: str, declaration: Declaration) -> DataTypeSpec:
    if declaration.infer_schema:
        if declaration.fields or declaration.key or declaration.version_field:
            raise InvalidInput(
                "inferSchema", "send either inferSchema: true or fields (with key and versionField), not both"
            )
        return DataTypeSpec(name=data_type, fields=(), infer_schema=True)
    fields = declaration.fields or []
    if not fields:
        raise InvalidInput("fields", 'declare at least one field, or send {"inferSchema": true}')
    names = [name for name, _, _ in fields]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidInput("fields", f"field names must be unique; repeated: {', '.join(repeated)}")
    types = {name: field_type for name, field_type, _ in fields}
    unsupported = [name for name, field_type in types.items() if field_type not in DECLARABLE_TYPES]
    if unsupported:
        allowed = ", ".join(t.value for t in DECLARABLE_TYPES)
        raise InvalidInput("fields", f"fields {', '.join(unsupported)}: type must be one of {allowed}")
    if declaration.key is not None and declaration.key not in types:
        raise InvalidInput("key", f"key '{declaration.key}' is not one of the declared fields")
    if declaration.version_field is not None:
        if declaration.key is None:
            raise InvalidInput(
                "versionField", "versionField needs a key: versions compare rows with the same key"
            )
        if types.get(declaration.version_field) not in ORDERED_TYPES:
            raise InvalidInput(
                "versionField",
                f"versionField '{declaration.version_field}' must be a declared integer, number, datetime "
                "or date field",
            )
    return spec_from_declaration(
        data_type, fields, key=declaration.key, version_field=declaration.version_field
    )


def _same_declaration(left: DataTypeSpec, right: DataTypeSpec) -> bool:
    def shape(spec: DataTypeSpec) -> tuple:
        return (
            spec.infer_schema,
            spec.key,
            spec.version_field,
            [(f.name, f.type, f.required) for f in spec.fields],
        )

    return shape(left) == shape(right)
