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


def test_an_upload_url_file_names_its_request_in_its_key(files):
    assert files.api_upload_request_id("incoming/c1/deals/api/01jd3k8a2b3c4d5e6f7g8h9j0k") == (
        "01jd3k8a2b3c4d5e6f7g8h9j0k"
    )


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ("incoming/c1/deals/api/sub/x.csv", "sub/x.csv"),  # the whole api/ folder is the service's
        ("incoming/c1/deals/export.csv", None),
        ("incoming/c1/deals/apis/x", None),
        ("incoming/c1/deals/api", None),
        ("warehouse/c1/deals/api/x", None),
    ],
)
def test_only_keys_under_a_data_types_api_folder_name_a_request(files, key, named):
    assert files.api_upload_request_id(key) == named
