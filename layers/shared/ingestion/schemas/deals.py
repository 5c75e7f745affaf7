"""The ``deals`` data type: a CRM deal, one row of the customer's export.

This model is the single definition of the schema. The validation engine derives its
column checks from it (:func:`ingestion.schemas.spec.spec_from_model`), and its row
rules are declared once in ``DEAL_RULES`` and enforced both here and by the engine.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ingestion.schemas.spec import AbsentWhen, ListSeparator, RequiredWhen, spec_from_model

CLOSED_STATUSES = frozenset({"closed_won", "closed_lost"})
DEAL_RULES = (
    RequiredWhen(field="closedDatetime", when_field="status", values=CLOSED_STATUSES),
    AbsentWhen(field="closedDatetime", when_field="status", values=frozenset({"open"})),
)


# ISO 8601 only: pydantic alone would also take unix timestamps ("0" -> 1970-01-01).
_ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$")


def _iso_8601(value: object) -> object:
    if isinstance(value, str) and not _ISO_8601.match(value):
        raise ValueError("not an ISO 8601 date-time such as 2024-06-18T12:30:45")
    return value


def _assume_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time out of range") from None


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(";") if item.strip()]
    return value


def _empty_to_none(value: object) -> object:
    return None if value == "" else value


UtcDatetime = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_assume_utc)]
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Deal(BaseModel):
    """A deal as uploaded. Empty cells of optional columns are null."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    name: str
    description: str | None = None
    creationDatetime: UtcDatetime
    addDatetime: UtcDatetime | None = None
    closedDatetime: UtcDatetime | None = None
    expectedClosureDatetime: UtcDatetime | None = None
    status: Literal["open", "closed_won", "closed_lost"]
    stage: str | None = None
    currentStageStartDatetime: UtcDatetime | None = None
    value: Amount
    numberOfSentEmails: Count | None = None
    numberOfEmailOpens: Count | None = None
    numberOfReceivedEmails: Count | None = None
    numberOfMeetings: Count | None = None
    lastInteractionDatetime: UtcDatetime | None = None
    accountId: str | None = None
    accountAverageResponseTime: Seconds | None = None
    companyId: str | None = None
    companyNumberOfEmployees: Count | None = None
    companyRevenue: Amount | None = None
    companyIndustry: str | None = None
    companyType: str | None = None
    companyDescription: str | None = None
    companyTechnologies: Annotated[list[str], ListSeparator(";"), BeforeValidator(_split_list)] | None = None
    companyCity: str | None = None
    companyCountry: str | None = None
    companyIsCustomer: bool | None = None
    contactId: str | None = None
    contactNumberOfConversions: Count | None = None
    contactEmailDomainType: str | None = None
    contactEmailOptedOut: bool | None = None
    contactAverageResponseTime: Seconds | None = None
    lastUpdateDatetime: UtcDatetime
    lastSyncedAt: UtcDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_cells_are_null(cls, data: object) -> object:
        if isinstance(data, dict):
            return {key: _empty_to_none(value) for key, value in data.items()}
        return data

    @model_validator(mode="after")
    def _check_rules(self) -> Deal:
        for rule in DEAL_RULES:
            trigger = getattr(self, rule.when_field)
            present = getattr(self, rule.field) is not None
            if trigger in rule.values and present == isinstance(rule, AbsentWhen):
                raise ValueError(rule.message())
        return self


DEALS = spec_from_model("deals", Deal, key="id", version_field="lastUpdateDatetime", rules=DEAL_RULES)
