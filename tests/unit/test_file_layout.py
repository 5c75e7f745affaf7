import pytest

from ingestion.repositories.files import FileStore, ObjectLocation


@pytest.fixture
def files() -> FileStore:
    return FileStore(s3_client=None, bucket="bucket", incoming_prefix="incoming/")


def test_api_uploads_live_under_their_collection_and_data_type(files):
    key = files.api_upload_key("c1", "deals", "r1")
    assert key == "incoming/c1/deals/api/r1"
    assert files.locate(key) == ObjectLocation(collection_id="c1", data_type="deals")


def test_dropped_files_name_collection_and_data_type_in_their_key(files):
    assert files.locate("incoming/c1/deals/2024/06/export.csv") == ObjectLocation("c1", "deals")


@pytest.mark.parametrize(
    "key",
    ["warehouse/c1_deals/data/x.parquet", "incoming/c1/deals", "incoming/c1//x.csv", "incoming//deals/x"],
)
def test_keys_outside_the_layout_are_not_routed(files, key):
    assert files.locate(key) is None
