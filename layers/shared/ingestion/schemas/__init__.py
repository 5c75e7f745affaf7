"""Data types the service knows, by name."""

from __future__ import annotations

from ingestion.errors import DataTypeNotFound
from ingestion.schemas.deals import DEALS
from ingestion.schemas.spec import DataTypeSpec

BUILT_IN_DATA_TYPES: dict[str, DataTypeSpec] = {DEALS.name: DEALS}


def get_data_type(name: str) -> DataTypeSpec:
    try:
        return BUILT_IN_DATA_TYPES[name]
    except KeyError:
        raise DataTypeNotFound(name, list(BUILT_IN_DATA_TYPES)) from None
