"""POST .../export and GET .../export/{exportId}: every row into one file, downloaded by URL."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
import requests

from tests.integration.harness import LEADS, Stack


def merged_deals(stack: Stack) -> str:
    collection_id = stack.create_collection()
    request_id = stack.append_file(collection_id, "deals.csv", stack.sample_csv)
    stack.deliver_notifications()
    assert stack.poll(collection_id, request_id)["status"] == "completed"
    return collection_id


def export(stack: Stack, collection_id: str, data_type: str = "deals", **body: str) -> dict:
    """Ask for an export, let the export function write it; the export as GET answers it."""
    queued = stack.call_api(
        "export_request.json", collection_id=collection_id, data_type=data_type, body=body
    )
    assert queued.status == 202, queued.body
    stack.run_exports()
    polled = stack.call_api(
        "get_export.json", collection_id=collection_id, data_type=data_type, export_id=queued.json["id"]
    )
    assert polled.status == 200, polled.body
    return polled.json


def download(url: str) -> bytes:
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    return response.content


def test_an_export_is_queued_with_its_id_and_format(stack: Stack):
    collection_id = merged_deals(stack)

    response = stack.call_api("export_request.json", collection_id=collection_id, body={"format": "ndjson"})

    assert response.status == 202
    assert set(response.json) == {"id", "status", "format"}
    assert (response.json["status"], response.json["format"]) == ("queued", "ndjson")


def test_a_queued_export_has_no_url_yet(stack: Stack):
    collection_id = merged_deals(stack)
    queued = stack.call_api("export_request.json", collection_id=collection_id, body={}).json

    polled = stack.call_api("get_export.json", collection_id=collection_id, export_id=queued["id"]).json

    assert polled["status"] == "queued"
    assert polled["format"] == "csv"
    assert (polled["url"], polled["rowCount"], polled["expiresAt"]) == (None, None, None)


def test_a_completed_export_counts_its_rows_and_gives_a_url_to_its_file(stack: Stack):
    collection_id = merged_deals(stack)

    done = export(stack, collection_id, format="csv")

    assert (done["status"], done["rowCount"], done["message"]) == ("completed", 5, None)
    assert done["expiresAt"].endswith("Z")
    lines = download(done["url"]).decode().splitlines()
    assert lines[0].split(",")[:2] == ["id", "name"]
    assert len(lines) == 6


def test_a_csv_export_appended_to_a_new_collection_gives_the_same_rows(stack: Stack):
    source = merged_deals(stack)
    exported = download(export(stack, source)["url"])
    target = stack.create_collection()

    request_id = stack.append_file(target, "export.csv", exported)
    stack.deliver_notifications()

    finished = stack.poll(target, request_id)
    assert (finished["status"], finished["rowsInserted"], finished["warnings"]) == ("completed", 5, [])
    assert stack.table_rows(target) == stack.table_rows(source)


def test_a_declared_data_types_csv_export_round_trips_too(stack: Stack):
    source = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=source, body=LEADS)
    leads = b'id,score,updatedAt\nl1,0.5,2024-06-18T12:00:00Z\n"l,2",,2024-06-18T12:00:00.25Z\n'
    stack.append_file(source, "leads.csv", leads, data_type="leads")
    stack.deliver_notifications()
    exported = download(export(stack, source, "leads")["url"])
    target = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=target, body=LEADS)

    stack.append_file(target, "leads.csv", exported, data_type="leads")
    stack.deliver_notifications()

    assert stack.table_rows(target, "leads") == stack.table_rows(source, "leads")


def test_an_ndjson_export_holds_one_typed_object_per_row(stack: Stack):
    collection_id = merged_deals(stack)

    lines = download(export(stack, collection_id, format="ndjson")["url"]).decode().splitlines()

    rows = {row["id"]: row for row in map(json.loads, lines)}
    assert len(rows) == 5
    assert rows["1"]["value"] == 1000.0
    assert rows["1"]["creationDatetime"] == "2024-05-01T08:00:00Z"


def test_a_parquet_export_keeps_the_tables_types(stack: Stack):
    collection_id = merged_deals(stack)

    table = pq.read_table(io.BytesIO(download(export(stack, collection_id, format="parquet")["url"])))

    assert table.num_rows == 5
    assert str(table.schema.field("value").type) == "double"
    assert sorted(table.column("id").to_pylist()) == ["1", "2", "3", "4", "5"]


def test_an_export_of_a_data_type_with_no_rows_is_its_header(stack: Stack):
    collection_id = stack.create_collection()

    done = export(stack, collection_id)

    assert (done["status"], done["rowCount"]) == ("completed", 0)
    assert download(done["url"]).decode().startswith("id,name,description,")


def test_an_unknown_format_is_422_naming_format(stack: Stack):
    collection_id = stack.create_collection()

    response = stack.call_api("export_request.json", collection_id=collection_id, body={"format": "xlsx"})

    assert response.status == 422
    assert response.json["errors"][0]["field"] == "format"


def test_an_export_of_an_unknown_data_type_is_404(stack: Stack):
    collection_id = stack.create_collection()

    response = stack.call_api("export_request.json", collection_id=collection_id, data_type="leads", body={})

    assert response.status == 404


def test_an_unknown_export_is_404(stack: Stack):
    collection_id = stack.create_collection()

    response = stack.call_api(
        "get_export.json", collection_id=collection_id, export_id="01jd3k9b3c4d5e6f7g8h9j0k1m"
    )

    assert response.status == 404
    assert "01jd3k9b3c4d5e6f7g8h9j0k1m" in response.json["message"]


def test_another_tenant_can_neither_export_nor_see_an_export(stack: Stack):
    collection_id = merged_deals(stack)
    mine = stack.call_api("export_request.json", collection_id=collection_id, body={}).json["id"]

    asked = stack.call_api("export_request.json", collection_id=collection_id, body={}, tenant="someone-else")
    polled = stack.call_api(
        "get_export.json", collection_id=collection_id, export_id=mine, tenant="someone-else"
    )

    assert (asked.status, polled.status) == (404, 404)


def test_an_export_of_a_collection_deleted_before_it_was_written_ends_error(stack: Stack):
    collection_id = merged_deals(stack)
    queued = stack.call_api("export_request.json", collection_id=collection_id, body={}).json
    stack.call_api("delete_collection.json", collection_id=collection_id)

    stack.run_exports()

    item = stack.dynamodb.Table(stack.names["ExportsTable"]).get_item(
        Key={"collectionKey": f"{collection_id}#deals", "id": queued["id"]}
    )["Item"]
    assert item["status"] == "error"
    assert "deleted" in item["message"]


@pytest.mark.parametrize("body", ['{"format": "csv", "extra": 1}', "[]", "{not json"])
def test_a_malformed_export_body_is_422(stack: Stack, body: str):
    collection_id = stack.create_collection()

    response = stack.call_api("export_request.json", collection_id=collection_id, raw_body=body)

    assert response.status == 422


def test_an_export_body_that_is_not_json_is_415(stack: Stack):
    collection_id = stack.create_collection()

    response = stack.call_api(
        "export_request.json",
        collection_id=collection_id,
        raw_body="format=parquet",
        headers={"Content-Type": "text/plain"},
    )

    assert response.status == 415
    assert "application/json" in response.json["message"]
