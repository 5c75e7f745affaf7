"""Ids this service never issues are answered 'not found' without asking DynamoDB, which
refuses keys over 2 KB (a long path segment would otherwise be a server error).

The API refuses such ids at the edge (a 422 naming the path parameter: see
``test_malformed_input_corpus.py``); these guards keep every other caller safe too (the
validator reads ids from object keys anyone can write into the bucket)."""

import pytest

from ingestion.errors import DataTypeNotFound
from ingestion.repositories.collections import CollectionRepository
from ingestion.repositories.uploads import UploadRequestRepository
from ingestion.services.data_types import resolve_data_type


class UnreachableTable:
    def __getattr__(self, name: str):
        raise AssertionError(f"DynamoDB was asked ({name}) about an id that cannot exist")


@pytest.mark.parametrize("collection_id", ["c" * 3000, "../x", "01JD3K7Q9X0M5R2C8V4B6N1T3E"])
def test_a_collection_id_that_is_not_a_ulid_names_no_collection(collection_id):
    assert CollectionRepository(UnreachableTable()).find(collection_id) is None


def test_a_request_id_that_is_not_a_ulid_names_no_request():
    uploads = UploadRequestRepository(UnreachableTable())
    assert uploads.find("01jd3k7q9x0m5r2c8v4b6n1t3e", "deals", "r" * 3000) is None


@pytest.mark.parametrize("data_type", ["x" * 2000, "Leads", "../deals"])
def test_a_data_type_name_outside_the_pattern_is_not_found(data_type):
    from ingestion.repositories.data_types import DataTypeRepository

    with pytest.raises(DataTypeNotFound):
        resolve_data_type("01jd3k7q9x0m5r2c8v4b6n1t3e", data_type, DataTypeRepository(UnreachableTable()))
