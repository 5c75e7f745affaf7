"""Inferring column types: the narrowest type every non-empty value is clearly written as."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestion.dataplane.column_checks import check_column
from ingestion.dataplane.type_inference import ColumnTypes, infer_field
from ingestion.dataplane.validation import validate_file
from ingestion.domain import IngestOptions
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType, spec_from_declaration


def inferred(*cells: str) -> FieldType:
    return infer_field("column", pa.array(cells, pa.string())).type


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["1", "-20", "0", ""], FieldType.INTEGER),
        (["1", "2.5", "-3e2"], FieldType.NUMBER),
        (["true", "FALSE", ""], FieldType.BOOLEAN),
        (["2024-06-18", "2024-02-29"], FieldType.DATE),
        (["2024-06-18T12:30:45", "2024-06-18 12:30", "2024-06-18T12:30:45.5+02:00"], FieldType.DATETIME),
        (["2024-06-18", "2024-06-18T12:30:45Z"], FieldType.DATETIME),
        (["hello", "1"], FieldType.STRING),
        (["", ""], FieldType.STRING),
    ],
)
def test_column_is_the_first_type_all_its_values_have(cells, expected):
    assert inferred(*cells) is expected


@pytest.mark.parametrize(
    "cells",
    [["007"], ["+3"], ["1_000"], ["yes"], ["1.0.0"], ["2024-02-30"], ["1e400"], ["99999999999999999999"]],
)
def test_values_that_only_look_typed_stay_text_or_widen(cells):
    assert inferred(*cells) in (FieldType.STRING, FieldType.NUMBER)
    assert inferred(*cells) is not FieldType.INTEGER


def test_leading_zeros_keep_codes_as_text():
    assert inferred("00123", "12") is FieldType.STRING


def test_types_narrow_batch_by_batch():
    types = ColumnTypes()

    types.observe("n", pa.array(["1", "2"]))
    types.observe("n", pa.array(["", "2.5"]))

    assert types.field("n") == FieldSpec(name="n", type=FieldType.NUMBER)


@given(
    st.lists(
        st.one_of(
            st.integers(-(10**18), 10**18).map(str),
            st.floats(allow_nan=False, allow_infinity=False).map(repr),
            st.booleans().map(str),
            st.text(max_size=5),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_inferred_type_accepts_every_value_it_was_inferred_from(cells):
    column = pa.array(cells, pa.string())
    spec = infer_field("column", column)

    checked = check_column(spec, column)

    assert not any(checked.invalid.to_pylist())


def test_declared_type_lacking_columns_keeps_them_with_inferred_types_when_allowed():
    leads = spec_from_declaration(
        "leads", [("email", FieldType.STRING, True)], key="email", version_field=None
    )
    data = b"email,visits,since\na@x.io,3,2024-01-01\nb@x.io,,2024-02-01\n"

    result = validate_file(
        lambda: io.BytesIO(data), leads, ",", max_errors=10, options=IngestOptions(allow_field_addition=True)
    )

    assert result.accepts(), result.message
    assert result.new_fields == [
        FieldSpec(name="visits", type=FieldType.INTEGER),
        FieldSpec(name="since", type=FieldType.DATE),
    ]
    assert result.table.column("visits").to_pylist() == [3, None]


def test_types_are_inferred_from_the_rows_that_are_kept():
    leads = spec_from_declaration(
        "leads",
        [("email", FieldType.STRING, True), ("score", FieldType.INTEGER, False)],
        key=None,
        version_field=None,
    )
    data = b"email,score,tier\na@x.io,1,1\nb@x.io,bad,gold\n"

    result = validate_file(
        lambda: io.BytesIO(data),
        leads,
        ",",
        max_errors=10,
        options=IngestOptions(allow_field_addition=True, max_bad_records=1),
    )

    assert result.new_fields == [FieldSpec(name="tier", type=FieldType.INTEGER)]


def test_inferred_schema_treats_every_column_as_new():
    data = b'[{"a": 1, "b": "x", "c": 2.0, "d": null}]'

    result = validate_file(
        lambda: io.BytesIO(data),
        DataTypeSpec(name="events", fields=(), infer_schema=True),
        ",",
        max_errors=10,
    )

    assert [(spec.name, spec.type) for spec in result.new_fields] == [
        ("a", FieldType.INTEGER),
        ("b", FieldType.STRING),
        ("c", FieldType.NUMBER),
        ("d", FieldType.STRING),
    ]


def test_inferred_schema_needs_a_named_column():
    result = validate_file(
        lambda: io.BytesIO(b",\n1,2\n"),
        DataTypeSpec(name="events", fields=(), infer_schema=True),
        ",",
        max_errors=10,
    )

    assert not result.accepts()
    assert "no named column" in result.message
