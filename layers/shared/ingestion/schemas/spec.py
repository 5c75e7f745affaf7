"""A data type described as plain field specifications.

The pydantic model of a data type is its single definition; :func:`spec_from_model`
derives from it the neutral description the validation engine works on (types,
required flags, bounds, allowed values, list separators and row rules), so the engine
never needs a Python object per row and never drifts from the model.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from annotated_types import Ge
from pydantic import BaseModel
from pydantic.fields import FieldInfo


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    DATE = "date"
    STRING_LIST = "string_list"


@dataclass(frozen=True)
class ListSeparator:
    """Marks a ``list[str]`` field stored in one cell, items split on ``separator``."""

    separator: str = ";"


@dataclass(frozen=True)
class RequiredWhen:
    """Row rule: ``field`` must have a value when ``when_field`` is one of ``values``."""

    field: str
    when_field: str
    values: frozenset[str]

    def message(self) -> str:
        return f"{self.field} is required when {self.when_field} is {' or '.join(sorted(self.values))}"


@dataclass(frozen=True)
class AbsentWhen:
    """Row rule: ``field`` must be empty when ``when_field`` is one of ``values``."""

    field: str
    when_field: str
    values: frozenset[str]

    def message(self) -> str:
        return f"{self.field} must be empty when {self.when_field} is {' or '.join(sorted(self.values))}"


RowRule = RequiredWhen | AbsentWhen


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    required: bool = False
    ge: float | None = None
    allowed: tuple[str, ...] | None = None
    list_separator: str | None = None

    def describe(self) -> str:
        """The expectation in words, used in validation messages."""
        text = {
            FieldType.STRING: "text",
            FieldType.INTEGER: "a whole number",
            FieldType.NUMBER: "a number",
            FieldType.BOOLEAN: "true or false",
            FieldType.DATETIME: "an ISO 8601 date-time such as 2024-06-18T12:30:45 (no zone means UTC)",
            FieldType.DATE: "an ISO 8601 date such as 2024-06-18",
            FieldType.STRING_LIST: f"a list of values separated by '{self.list_separator}'",
        }[self.type]
        if self.allowed is not None:
            text = f"one of {', '.join(self.allowed)}"
        if self.ge is not None:
            text += f" >= {self.ge:g}"
        return text


@dataclass(frozen=True)
class DataTypeSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    key: str | None = None
    version_field: str | None = None
    rules: tuple[RowRule, ...] = ()
    model: type[BaseModel] | None = field(default=None, compare=False)
    # Declared with {"inferSchema": true} and no data yet: the first append defines the fields.
    infer_schema: bool = False
    # Built-in types (deals) ignore unknown columns with a warning; declared ones refuse them
    # unless the upload allows field addition.
    built_in: bool = False

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


_SCALARS: dict[Any, FieldType] = {
    str: FieldType.STRING,
    int: FieldType.INTEGER,
    float: FieldType.NUMBER,
    bool: FieldType.BOOLEAN,
    datetime: FieldType.DATETIME,
    date: FieldType.DATE,
}


def _unwrap_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _field_spec(name: str, info: FieldInfo) -> FieldSpec:
    annotation = _unwrap_optional(info.annotation)
    metadata = list(info.metadata)
    while typing.get_origin(annotation) is Annotated:
        annotation, *extra = typing.get_args(annotation)
        for item in extra:
            # ``Annotated[int, Field(ge=0)]`` carries its constraints inside a FieldInfo.
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        annotation = _unwrap_optional(annotation)
    ge = next((float(m.ge) for m in metadata if isinstance(m, Ge)), None)
    separator = next((m.separator for m in metadata if isinstance(m, ListSeparator)), None)
    allowed = None
    if typing.get_origin(annotation) is Literal:
        allowed = tuple(str(v) for v in typing.get_args(annotation))
        field_type = FieldType.STRING
    elif typing.get_origin(annotation) is list:
        if separator is None:
            raise TypeError(f"list field {name} needs a ListSeparator annotation")
        field_type = FieldType.STRING_LIST
    elif annotation in _SCALARS:
        field_type = _SCALARS[annotation]
    else:
        raise TypeError(f"field {name}: unsupported annotation {annotation!r}")
    return FieldSpec(
        name=info.alias or name,
        type=field_type,
        required=info.is_required(),
        ge=ge,
        allowed=allowed,
        list_separator=separator,
    )


def spec_from_model(
    name: str,
    model: type[BaseModel],
    *,
    key: str | None,
    version_field: str | None,
    rules: tuple[RowRule, ...] = (),
) -> DataTypeSpec:
    fields = tuple(_field_spec(field_name, info) for field_name, info in model.model_fields.items())
    return DataTypeSpec(
        name=name,
        fields=fields,
        key=key,
        version_field=version_field,
        rules=rules,
        model=model,
        built_in=True,
    )


# The types a declared data type may use (PUT /api/collection/{id}/data/{dataType}).
DECLARABLE_TYPES = (
    FieldType.STRING,
    FieldType.INTEGER,
    FieldType.NUMBER,
    FieldType.BOOLEAN,
    FieldType.DATETIME,
    FieldType.DATE,
)


def spec_from_declaration(
    name: str,
    fields: list[tuple[str, FieldType, bool]],
    *,
    key: str | None,
    version_field: str | None,
) -> DataTypeSpec:
    """A declared data type: ``fields`` are (name, type, required); the key is always required."""
    return DataTypeSpec(
        name=name,
        fields=tuple(
            FieldSpec(name=field_name, type=field_type, required=required or field_name == key)
            for field_name, field_type, required in fields
        ),
        key=key,
        version_field=version_field,
    )
