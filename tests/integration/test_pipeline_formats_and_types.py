"""Every upload format, declared and inferred data types, partial acceptance and schema
addition, end to end: API -> S3 -> notification -> validator -> Iceberg -> API."""

from __future__ import annotations

import gzip
import json

from tests.integration.harness import LEADS, Stack

LEADS_CSV = b"id,score,updatedAt\nl1,0.5,2024-06-01T00:00:00Z\nl2,0.7,2024-06-02T00:00:00Z\n"


def append_file(
    stack: Stack, collection_id: str, data_type: str, name: str, content: bytes, **fields: str
) -> str:
    request_id = stack.append_file(collection_id, name, content, data_type, **fields)
    stack.deliver_notifications()
    return request_id


def finished(stack: Stack, collection_id: str, data_type: str, request_id: str) -> dict:
    response = stack.call_api(
        "status_request.json", collection_id=collection_id, data_type=data_type, request_id=request_id
    )
    return response.json


def declare(stack: Stack, collection_id: str, data_type: str, body: dict) -> None:
    response = stack.call_api(
        "declare_data_type.json", collection_id=collection_id, data_type=data_type, body=body
    )
    assert response.status == 201, response.body


def describe(stack: Stack, collection_id: str, data_type: str) -> dict:
    return stack.call_api("get_data_type.json", collection_id=collection_id, data_type=data_type).json


def test_rows_posted_as_json_are_merged_into_a_declared_data_type(stack: Stack):
    collection_id = stack.create_collection()
    declare(stack, collection_id, "leads", LEADS)
    request_id = stack.call_api("append_rows_json.json", collection_id=collection_id).json["id"]
    stack.deliver_notifications()

    request = finished(stack, collection_id, "leads", request_id)
    assert (request["status"], request["rowsInserted"]) == ("completed", 2), request
    assert describe(stack, collection_id, "leads")["rowCount"] == 2


def test_a_gzipped_csv_upload_is_merged(stack: Stack):
    collection_id = stack.create_collection()
    request_id = append_file(stack, collection_id, "deals", "deals.csv.gz", gzip.compress(stack.sample_csv))
    request = finished(stack, collection_id, "deals", request_id)
    assert (request["status"], request["rowsInserted"]) == ("completed", 5), request


def test_an_ndjson_upload_is_merged(stack: Stack):
    collection_id = stack.create_collection()
    declare(stack, collection_id, "leads", LEADS)
    lines = b"\n".join(
        json.dumps({"id": f"l{i}", "score": i / 10, "updatedAt": "2024-06-01T00:00:00Z"}).encode()
        for i in range(3)
    )
    request_id = append_file(stack, collection_id, "leads", "leads.ndjson", lines)
    request = finished(stack, collection_id, "leads", request_id)
    assert (request["status"], request["rowsInserted"]) == ("completed", 3), request


def test_separator_auto_detects_and_says_which(stack: Stack):
    collection_id = stack.create_collection()
    declare(stack, collection_id, "leads", LEADS)
    request_id = append_file(
        stack, collection_id, "leads", "l.csv", LEADS_CSV.replace(b",", b";"), separator="auto"
    )
    request = finished(stack, collection_id, "leads", request_id)
    assert request["status"] == "completed", request
    assert any("';'" in warning for warning in request["warnings"])


def test_max_bad_records_accepts_the_good_rows_up_to_the_limit(stack: Stack):
    collection_id = stack.create_collection()
    declare(stack, collection_id, "leads", LEADS)
    content = LEADS_CSV + b"l3,not-a-number,2024-06-03T00:00:00Z\n"

    refused = finished(
        stack, collection_id, "leads", append_file(stack, collection_id, "leads", "a.csv", content)
    )
    accepted = finished(
        stack,
        collection_id,
        "leads",
        append_file(stack, collection_id, "leads", "b.csv", content, maxBadRecords="1"),
    )

    assert (refused["status"], refused["rowsRejected"]) == ("error", 1)
    assert (accepted["status"], accepted["rowsInserted"], accepted["rowsRejected"]) == ("completed", 2, 1)
    assert [(e["line"], e["column"]) for e in accepted["validationErrors"]] == [(4, "score")]


def test_new_columns_are_refused_unless_field_addition_is_allowed(stack: Stack):
    collection_id = stack.create_collection()
    declare(stack, collection_id, "leads", LEADS)
    content = b"id,score,updatedAt,city\nl1,0.5,2024-06-01T00:00:00Z,Oslo\n"

    refused = finished(
        stack, collection_id, "leads", append_file(stack, collection_id, "leads", "a.csv", content)
    )
    added = finished(
        stack,
        collection_id,
        "leads",
        append_file(stack, collection_id, "leads", "b.csv", content, allowFieldAddition="true"),
    )

    assert refused["status"] == "error"
    assert "city" in refused["message"]
    assert added["status"] == "completed", added
    assert any("city (string)" in warning for warning in added["warnings"]), added["warnings"]
    assert "city" in [field["name"] for field in describe(stack, collection_id, "leads")["fields"]]


def test_the_first_append_defines_an_inferred_schema(stack: Stack):
    collection_id = stack.create_collection()
    declare(stack, collection_id, "products", {"inferSchema": True})
    content = b"sku,price,inStock,launched\na1,9.5,true,2024-01-01\na2,12,false,2024-02-01\n"
    request = finished(
        stack, collection_id, "products", append_file(stack, collection_id, "products", "p.csv", content)
    )

    assert request["status"] == "completed", request
    described = describe(stack, collection_id, "products")
    assert [(f["name"], f["type"]) for f in described["fields"]] == [
        ("sku", "string"),
        ("price", "number"),
        ("inStock", "boolean"),
        ("launched", "date"),
    ]
    assert (described["inferSchema"], described["rowCount"]) == (False, 2)
