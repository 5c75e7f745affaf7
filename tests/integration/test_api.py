"""The API functions called in-process with the events from events/, against moto."""

from __future__ import annotations

import base64
import json

import pytest

from local_stack.functions import FunctionError
from tests.integration.harness import LEADS, Stack, multipart_body


def test_create_collection_answers_201_with_a_generated_id(stack: Stack):
    response = stack.call_api("create_collection.json", body={"name": "CRM deals"})
    assert response.status == 201
    assert response.json["name"] == "CRM deals"
    assert response.json["dataTypes"] == {}
    assert len(response.json["id"]) == 26


def test_collection_ids_are_unique(stack: Stack):
    ids = {stack.create_collection() for _ in range(5)}
    assert len(ids) == 5


def test_create_collection_without_name_is_422_naming_the_field(stack: Stack):
    response = stack.call_api("create_collection.json", body={})
    assert response.status == 422
    assert response.json["errors"][0]["field"] == "name"


def test_create_collection_with_broken_json_is_422(stack: Stack):
    response = stack.call_api("create_collection.json", raw_body="{not json")
    assert response.status == 422
    assert "not valid JSON" in response.json["errors"][0]["message"]


def test_get_collection_of_another_tenant_is_404(stack: Stack):
    collection_id = stack.create_collection(tenant="someone-else")
    response = stack.call_api("get_collection.json", collection_id=collection_id)
    assert response.status == 404
    assert collection_id in response.json["message"]


def test_append_answers_202_with_a_queued_upload_request(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api("append_request.json", collection_id=collection_id)
    assert response.status == 202
    body = response.json
    assert body["status"] == "queued"
    assert (body["collectionId"], body["dataType"], body["separator"]) == (collection_id, "deals", ",")
    assert body["message"] is None
    assert body["validationErrors"] is None
    assert (body["fileName"], body["source"]) == ("my-deals-data.csv", "api")
    assert body["sizeBytes"] == len(stack.sample_csv)
    assert body["dumpDatetime"].endswith("Z")


def test_append_stores_the_file_byte_for_byte_with_its_request(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    key = f"incoming/{collection_id}/deals/api/{request_id}"
    stored = stack.s3.get_object(Bucket=stack.bucket, Key=key)
    assert stored["Body"].read() == stack.sample_csv
    assert stored["Metadata"]["request-id"] == request_id


def test_append_then_poll_returns_the_same_request(stack: Stack):
    collection_id = stack.create_collection()
    queued = stack.call_api("append_request.json", collection_id=collection_id).json
    polled = stack.call_api("status_request.json", collection_id=collection_id, request_id=queued["id"])
    assert polled.status == 200
    assert polled.json == queued


def test_append_without_file_is_422_naming_file(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={"separator": ","})
    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )
    assert response.status == 422
    assert [error["field"] for error in response.json["errors"]] == ["file"]


@pytest.mark.parametrize("separator", [";;", '"', "\n", ""])
def test_append_with_a_bad_separator_is_422_naming_separator(stack: Stack, separator: str):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={"separator": separator}, file=("d.csv", stack.sample_csv))
    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )
    assert response.status == 422
    assert "separator" in [error["field"] for error in response.json["errors"]]


def test_append_of_an_empty_file_is_422(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={}, file=("empty.csv", b""))
    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )
    assert response.status == 422
    assert response.json["errors"][0]["field"] == "file"


def test_append_to_an_unknown_collection_is_404(stack: Stack):
    response = stack.call_api("append_request.json", collection_id="01jd3k7q9x0m5r2c8v4b6n1t3e")
    assert response.status == 404


def test_append_of_an_unknown_data_type_is_404_naming_the_known_ones(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api("append_request.json", collection_id=collection_id, data_type="leads")
    assert response.status == 404
    assert "deals" in response.json["message"]


def test_append_with_a_body_that_is_not_multipart_is_400(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api(
        "append_request.json",
        collection_id=collection_id,
        multipart=(b"just bytes", "multipart/form-data"),
    )
    assert response.status == 400
    assert "multipart/form-data" in response.json["message"]


def test_poll_of_an_unknown_request_is_404(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api(
        "status_request.json", collection_id=collection_id, request_id="01jd3k8a2b3c4d5e6f7g8h9j0k"
    )
    assert response.status == 404


def test_poll_of_an_unknown_data_type_is_404(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    response = stack.call_api(
        "status_request.json", collection_id=collection_id, request_id=request_id, data_type="leads"
    )
    assert response.status == 404


def test_listing_is_newest_first_and_paginated(stack: Stack):
    collection_id = stack.create_collection()
    ids = [stack.call_api("append_request.json", collection_id=collection_id).json["id"] for _ in range(3)]
    first = stack.call_api("list_upload_requests.json", collection_id=collection_id, query={"limit": "2"})
    assert first.status == 200
    assert [item["id"] for item in first.json["items"]] == [ids[2], ids[1]]
    second = stack.call_api(
        "list_upload_requests.json",
        collection_id=collection_id,
        query={"limit": "2", "nextToken": first.json["nextToken"]},
    )
    assert [item["id"] for item in second.json["items"]] == [ids[0]]
    assert second.json["nextToken"] is None


def test_listing_with_a_forged_next_token_is_422(stack: Stack):
    collection_id = stack.create_collection()
    forged = base64.urlsafe_b64encode(
        json.dumps({"collectionKey": "other#deals", "id": "x"}).encode()
    ).decode()
    response = stack.call_api(
        "list_upload_requests.json", collection_id=collection_id, query={"nextToken": forged}
    )
    assert response.status == 422
    assert response.json["errors"][0]["field"] == "nextToken"


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_listing_with_a_bad_limit_is_422(stack: Stack, limit: str):
    collection_id = stack.create_collection()
    response = stack.call_api(
        "list_upload_requests.json", collection_id=collection_id, query={"limit": limit}
    )
    assert response.status == 422
    assert response.json["errors"][0]["field"] == "limit"


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
def test_authorizer_accepts_token_and_bearer(stack: Stack, scheme: str):
    policy = stack.authorize(f"{scheme} {stack.token}")
    assert policy["principalId"] == "dev"
    assert policy["context"] == {"tenantId": "dev"}
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize("header", ["Token not-a-token", "", "dev-token"])
def test_authorizer_refuses_unknown_or_malformed_tokens(stack: Stack, header: str):
    with pytest.raises(FunctionError) as refusal:
        stack.authorize(header)
    # The exact message API Gateway turns into a 401.
    assert refusal.value.error_message == "Unauthorized"


def test_declaring_a_data_type_answers_201_with_its_schema(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS)
    assert response.status == 201
    assert response.json["dataType"] == "leads"
    assert [(f["name"], f["type"], f["required"]) for f in response.json["fields"]] == [
        ("id", "string", True),
        ("score", "number", False),
        ("updatedAt", "datetime", False),
    ]
    assert (response.json["key"], response.json["versionField"]) == ("id", "updatedAt")


def test_declaring_the_same_data_type_again_is_idempotent(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS)
    again = stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS)
    assert again.status == 200


def test_declaring_a_data_type_differently_is_409(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS)
    other = stack.call_api("declare_data_type.json", collection_id=collection_id, body={"inferSchema": True})
    assert other.status == 409
    assert "allowFieldAddition" in other.json["message"]


def test_the_built_in_deals_cannot_be_declared(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api(
        "declare_data_type.json", collection_id=collection_id, data_type="deals", body=LEADS
    )
    assert response.status == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": []}, "fields"),
        (LEADS | {"key": "nope"}, "key"),
        (LEADS | {"versionField": "score", "key": None}, "versionField"),
        ({"fields": [{"name": "x", "type": "string_list"}]}, "fields"),
        ({"fields": [{"name": "x", "type": "text"}]}, "fields.0.type"),
        ({"inferSchema": True, "key": "id"}, "inferSchema"),
        ({"fields": [{"name": "a", "type": "string"}, {"name": "a", "type": "integer"}]}, "fields"),
    ],
)
def test_a_bad_declaration_is_422_naming_the_field(stack: Stack, body: dict, field: str):
    collection_id = stack.create_collection()
    response = stack.call_api("declare_data_type.json", collection_id=collection_id, body=body)
    assert response.status == 422, response.body
    assert response.json["errors"][0]["field"] == field


def test_a_data_type_name_must_be_lowercase_identifier(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api(
        "declare_data_type.json", collection_id=collection_id, data_type="Leads!", body=LEADS
    )
    assert response.status == 422
    assert response.json["errors"][0]["field"] == "dataType"


def test_deals_describes_itself(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api("get_data_type.json", collection_id=collection_id)
    assert response.status == 200
    body = response.json
    assert (body["dataType"], body["key"], body["versionField"], body["builtIn"]) == (
        "deals",
        "id",
        "lastUpdateDatetime",
        True,
    )
    assert body["rowCount"] == 0
    assert len(body["fields"]) == 35


def test_a_declared_data_type_describes_itself(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS)
    response = stack.call_api("get_data_type.json", collection_id=collection_id, data_type="leads")
    assert response.status == 200
    assert (response.json["builtIn"], response.json["inferSchema"]) == (False, False)


def test_an_undeclared_data_type_is_404_to_describe_and_to_append(stack: Stack):
    collection_id = stack.create_collection()
    assert stack.call_api("get_data_type.json", collection_id=collection_id, data_type="leads").status == 404
    assert stack.call_api("append_rows_json.json", collection_id=collection_id).status == 404


def test_rows_posted_as_json_are_stored_as_a_file(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS)
    response = stack.call_api("append_rows_json.json", collection_id=collection_id)
    assert response.status == 202, response.body
    assert response.json["fileName"] == "rows.json"
    stored = stack.s3.get_object(
        Bucket=stack.bucket, Key=f"incoming/{collection_id}/leads/api/{response.json['id']}"
    )
    assert stored["ContentType"] == "application/json"
    assert b'"rows"' in stored["Body"].read()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rows": []}, "rows"),
        ({"data": [{"id": 1}]}, "rows"),
        ({"rows": [{"id": "a"}], "maxBadRecords": -1}, "maxBadRecords"),
    ],
)
def test_a_bad_json_rows_body_is_422(stack: Stack, body: dict, field: str):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS)
    response = stack.call_api("append_rows_json.json", collection_id=collection_id, body=body)
    assert response.status == 422, response.body
    assert response.json["errors"][0]["field"] == field


def test_append_options_travel_with_the_file(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(
        fields={"separator": "auto", "maxBadRecords": "3", "allowFieldAddition": "true"},
        file=("deals.csv", stack.sample_csv),
    )
    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )
    assert response.status == 202, response.body
    assert response.json["separator"] == "auto"
    metadata = stack.s3.head_object(
        Bucket=stack.bucket, Key=f"incoming/{collection_id}/deals/api/{response.json['id']}"
    )["Metadata"]
    assert (metadata["max-bad-records"], metadata["allow-field-addition"]) == ("3", "true")


def test_append_options_are_kept_on_the_request_record_too(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(
        fields={"maxBadRecords": "3", "allowFieldAddition": "true"}, file=("deals.csv", stack.sample_csv)
    )

    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )

    item = stack.upload_requests.get_item(
        Key={"collectionKey": f"{collection_id}#deals", "id": response.json["id"]}
    )["Item"]
    assert (item["maxBadRecords"], item["allowFieldAddition"], item["contentType"]) == (3, True, "text/csv")


def test_a_negative_max_bad_records_is_422(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={"maxBadRecords": "-1"}, file=("deals.csv", stack.sample_csv))
    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )
    assert response.status == 422
    assert response.json["errors"][0]["field"] == "maxBadRecords"
