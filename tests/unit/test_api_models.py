from datetime import UTC, datetime

from ingestion.api_models import collection_response, export_response, upload_request_response
from ingestion.domain import (
    Collection,
    DataTypeStats,
    Export,
    ExportDownload,
    ExportFormat,
    ExportStatus,
    UploadRequest,
    UploadSource,
    UploadStatus,
    ValidationIssue,
)

QUEUED = UploadRequest(
    id="01jd3k8a2b3c4d5e6f7g8h9j0k",
    collection_id="01jd3k7q9x0m5r2c8v4b6n1t3e",
    data_type="deals",
    separator=",",
    dump_datetime=datetime(2024, 8, 20, 12, 53, 24, 134179, tzinfo=UTC),
    status=UploadStatus.QUEUED,
    source=UploadSource.API,
    file_name="my-deals-data.csv",
    size_bytes=2433,
    object_key="incoming/01jd3k7q9x0m5r2c8v4b6n1t3e/deals/api/01jd3k8a2b3c4d5e6f7g8h9j0k",
)


def wire(request: UploadRequest) -> dict:
    return upload_request_response(request).model_dump(mode="json", by_alias=True)


def test_upload_request_keeps_the_reference_names_and_shape():
    body = wire(QUEUED)
    assert {key: body[key] for key in ("id", "collectionId", "dataType", "separator", "status")} == {
        "id": QUEUED.id,
        "collectionId": QUEUED.collection_id,
        "dataType": "deals",
        "separator": ",",
        "status": "queued",
    }
    assert body["dumpDatetime"] == "2024-08-20T12:53:24.134179Z"
    assert body["message"] is None
    assert body["validationErrors"] is None


def test_upload_request_adds_file_name_size_and_source():
    body = wire(QUEUED)
    assert (body["fileName"], body["sizeBytes"], body["source"]) == ("my-deals-data.csv", 2433, "api")


def test_the_stored_object_key_is_not_exposed():
    assert "objectKey" not in wire(QUEUED)


def test_validation_errors_name_line_column_value_and_message():
    failed = QUEUED.model_copy(
        update={
            "status": UploadStatus.ERROR,
            "validation_errors": [
                ValidationIssue(line=3, column="value", value="-5", message="'-5' is not >= 0")
            ],
            "validation_error_count": 1,
        }
    )
    body = wire(failed)
    assert body["validationErrors"] == [
        {"line": 3, "row": None, "column": "value", "value": "-5", "message": "'-5' is not >= 0"}
    ]
    assert body["validationErrorCount"] == 1


def test_a_collection_shows_neither_its_tenant_nor_its_deletion_bookkeeping():
    collection = Collection(
        id="01jd3k7q9x0m5r2c8v4b6n1t3e",
        tenant_id="acme",
        name="CRM",
        created_at=datetime(2024, 8, 20, tzinfo=UTC),
        data_types={"deals": DataTypeStats(row_count=5, snapshot_id=7)},
        cleared_data_types={"leads": "01jd3k8a2b3c4d5e6f7g8h9j0k"},
    )

    body = collection_response(collection).model_dump(mode="json", by_alias=True)

    assert body == {
        "id": collection.id,
        "name": "CRM",
        "createdAt": "2024-08-20T00:00:00Z",
        "dataTypes": {"deals": {"rowCount": 5, "lastRequestId": None, "lastUpdated": None}},
    }


def test_an_export_shows_its_download_once_written_and_never_where_it_is_stored():
    export = Export(
        id="01jd3k9b3c4d5e6f7g8h9j0k1m",
        collection_id="01jd3k7q9x0m5r2c8v4b6n1t3e",
        data_type="deals",
        format=ExportFormat.NDJSON,
        status=ExportStatus.COMPLETED,
        created_at=datetime(2024, 8, 20, tzinfo=UTC),
        object_key="exports/x.ndjson",
        row_count=5,
    )
    download = ExportDownload(
        export=export, url="https://signed", expires_at=datetime(2024, 8, 20, 1, tzinfo=UTC)
    )

    assert export_response(download).model_dump(mode="json", by_alias=True) == {
        "id": export.id,
        "status": "completed",
        "format": "ndjson",
        "rowCount": 5,
        "url": "https://signed",
        "expiresAt": "2024-08-20T01:00:00Z",
        "message": None,
    }
