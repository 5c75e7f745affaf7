"""The Iceberg shape of a data type, table names and catalog settings (no network)."""

from __future__ import annotations

import pytest
from pyiceberg.transforms import IdentityTransform, MonthTransform
from pyiceberg.types import (
    BooleanType,
    DoubleType,
    ListType,
    LongType,
    StringType,
    TimestamptzType,
)

from ingestion.dataplane import get_catalog, table_identifier
from ingestion.dataplane.tables import iceberg_schema, partition_spec, sort_order
from ingestion.schemas.deals import DEALS
from ingestion.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings() -> Settings:
    return make_settings(AWS_ENDPOINT_URL="http://127.0.0.1:1", AWS_REGION="eu-west-1")


def test_schema_maps_each_field_type_and_keeps_required_flags():
    schema = iceberg_schema(DEALS)

    expected = {
        "id": (StringType(), True),
        "creationDatetime": (TimestamptzType(), True),
        "value": (DoubleType(), True),
        "numberOfMeetings": (LongType(), False),
        "companyIsCustomer": (BooleanType(), False),
        "closedDatetime": (TimestamptzType(), False),
    }
    for name, (column_type, required) in expected.items():
        field = schema.find_field(name)
        assert (field.field_type, field.required) == (column_type, required), name
    technologies = schema.find_field("companyTechnologies").field_type
    assert isinstance(technologies, ListType)
    assert technologies.element_type == StringType()
    assert [field.name for field in schema.fields] == list(DEALS.field_names)


def test_deals_are_partitioned_by_month_of_creation():
    schema = iceberg_schema(DEALS)

    (field,) = partition_spec(DEALS, schema).fields

    assert field.source_id == schema.find_field("creationDatetime").field_id
    assert isinstance(field.transform, MonthTransform)


def test_deals_are_sorted_on_their_key():
    schema = iceberg_schema(DEALS)

    (field,) = sort_order(DEALS, schema).fields

    assert field.source_id == schema.find_field("id").field_id
    assert isinstance(field.transform, IdentityTransform)


def test_table_identifier_is_database_and_collection_data_type(settings):
    assert table_identifier(settings, "c0ffee42", "deals") == ("collections", "c0ffee42_deals")


@pytest.mark.parametrize(("collection_id", "data_type"), [("C1", "deals"), ("c-1", "deals"), ("c1", "Deals")])
def test_table_identifier_refuses_names_outside_the_alphabet(settings, collection_id, data_type):
    with pytest.raises(ValueError, match="must"):
        table_identifier(settings, collection_id, data_type)


def test_catalog_is_built_once_and_points_glue_and_s3_at_the_endpoint(settings):
    catalog = get_catalog(settings)

    assert get_catalog(settings) is catalog
    assert catalog.properties["glue.endpoint"] == "http://127.0.0.1:1"
    assert catalog.properties["s3.endpoint"] == "http://127.0.0.1:1"
    assert catalog.properties["glue.region"] == "eu-west-1"
