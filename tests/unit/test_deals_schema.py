import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingestion.errors import DataTypeNotFound
from ingestion.schemas import get_data_type
from ingestion.schemas.deals import DEALS, Deal
from ingestion.schemas.spec import FieldType

SAMPLE = Path(__file__).parents[2] / "events" / "deals.csv"


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_reference_sample_is_valid():
    deals = [Deal.model_validate(row) for row in sample_rows()]
    assert [deal.id for deal in deals] == ["1", "2", "3", "4", "5"]


def test_required_columns_are_those_the_issue_names():
    assert set(DEALS.required_fields) == {
        "id",
        "name",
        "creationDatetime",
        "status",
        "value",
        "lastUpdateDatetime",
    }


def test_columns_are_those_of_the_sample_in_order():
    with SAMPLE.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert list(DEALS.field_names) == header


@pytest.mark.parametrize(
    ("column", "field_type"),
    [
        ("creationDatetime", FieldType.DATETIME),
        ("lastSyncedAt", FieldType.DATETIME),
        ("value", FieldType.NUMBER),
        ("companyRevenue", FieldType.NUMBER),
        ("accountAverageResponseTime", FieldType.NUMBER),
        ("numberOfMeetings", FieldType.INTEGER),
        ("companyNumberOfEmployees", FieldType.INTEGER),
        ("contactNumberOfConversions", FieldType.INTEGER),
        ("companyIsCustomer", FieldType.BOOLEAN),
        ("contactEmailOptedOut", FieldType.BOOLEAN),
        ("companyTechnologies", FieldType.STRING_LIST),
        ("companyCity", FieldType.STRING),
    ],
)
def test_spec_types_come_from_the_model(column, field_type):
    assert DEALS.field(column).type is field_type


def test_numbers_and_counts_must_not_be_negative():
    assert DEALS.field("value").ge == 0
    assert DEALS.field("numberOfSentEmails").ge == 0
    assert DEALS.field("contactAverageResponseTime").ge == 0


def test_status_allows_exactly_three_values():
    assert DEALS.field("status").allowed == ("open", "closed_won", "closed_lost")


def test_a_datetime_without_zone_means_utc():
    deal = Deal.model_validate(sample_rows()[0])
    assert deal.creationDatetime == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_technologies_are_a_semicolon_separated_list():
    deal = Deal.model_validate(sample_rows()[0])
    assert deal.companyTechnologies == ["AI", "Machine Learning", "Web"]


def test_empty_optional_cells_are_null():
    row = sample_rows()[0] | {"stage": "", "numberOfMeetings": ""}
    deal = Deal.model_validate(row)
    assert deal.stage is None
    assert deal.numberOfMeetings is None


def test_a_closed_deal_needs_a_closed_datetime():
    row = sample_rows()[0] | {"status": "closed_won", "closedDatetime": ""}
    with pytest.raises(
        ValidationError, match="closedDatetime is required when status is closed_lost or closed_won"
    ):
        Deal.model_validate(row)


def test_an_open_deal_has_no_closed_datetime():
    row = sample_rows()[2] | {"status": "open", "closedDatetime": "2024-06-10T09:15:30"}
    with pytest.raises(ValidationError, match="closedDatetime must be empty when status is open"):
        Deal.model_validate(row)


def test_unknown_data_type_names_the_known_ones():
    with pytest.raises(DataTypeNotFound, match="available data types: deals"):
        get_data_type("leads")


@pytest.mark.parametrize("cell", ["1700000000", "2024/06/18", "18-06-2024", "0001-01-01T00:00:00+01:00"])
def test_datetimes_must_be_iso_8601_and_in_range(cell):
    with pytest.raises(ValidationError, match="creationDatetime"):
        Deal.model_validate(sample_rows()[0] | {"creationDatetime": cell})


@pytest.mark.parametrize("cell", ["inf", "nan", "1e400", "-1"])
def test_amounts_must_be_finite_and_not_negative(cell):
    with pytest.raises(ValidationError, match="value"):
        Deal.model_validate(sample_rows()[0] | {"value": cell})
