"""Safe retries: a POST or PUT with an Idempotency-Key is carried out once per tenant and key."""

from __future__ import annotations

import time

import pytest

from ingestion.errors import RequestInProgress
from ingestion.idempotency import answer_once
from local_stack.functions import FakeLambdaContext
from tests.integration.harness import LEADS, Stack, multipart_body

KEY = {"Idempotency-Key": "7c0d9f52-3f3e-4a43-9d1e-2f1e5b1f6b0e"}


def collections_of(stack: Stack, tenant: str = "dev") -> list[str]:
    response = stack.call_api("list_collections.json", query={"limit": "100"}, tenant=tenant)
    return [item["id"] for item in response.json["items"]]


def test_a_repeat_gets_the_first_answer_and_creates_nothing_new(stack: Stack):
    first = stack.call_api("create_collection.json", body={"name": "CRM"}, headers=KEY)
    again = stack.call_api("create_collection.json", body={"name": "CRM"}, headers=KEY)

    assert (first.status, again.status) == (201, 201)
    assert again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert collections_of(stack) == [first.json["id"]]


def test_without_a_key_each_request_is_carried_out(stack: Stack):
    stack.call_api("create_collection.json", body={"name": "CRM"})
    stack.call_api("create_collection.json", body={"name": "CRM"})

    assert len(collections_of(stack)) == 2


def test_the_same_key_with_another_body_is_422_naming_the_header(stack: Stack):
    stack.call_api("create_collection.json", body={"name": "CRM"}, headers=KEY)

    response = stack.call_api("create_collection.json", body={"name": "ERP"}, headers=KEY)

    assert response.status == 422
    assert "Idempotency-Key" in response.json["message"]
    assert response.json["errors"][0]["field"] == "Idempotency-Key"
    assert len(collections_of(stack)) == 1


def test_the_same_key_on_another_route_is_422(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS, headers=KEY)

    response = stack.call_api("export_request.json", collection_id=collection_id, body={}, headers=KEY)

    assert response.status == 422
    assert "Idempotency-Key" in response.json["message"]


def test_key_order_and_spacing_of_a_json_body_do_not_make_another_request(stack: Stack):
    first = stack.call_api("create_collection.json", raw_body='{"name": "CRM"}', headers=KEY)
    again = stack.call_api("create_collection.json", raw_body='{ "name" :"CRM" }', headers=KEY)

    assert again.json == first.json


def test_a_multipart_upload_sent_again_with_a_new_boundary_is_stored_once(stack: Stack):
    collection_id = stack.create_collection()
    answers = []
    for _ in range(2):
        form = multipart_body(fields={"separator": ","}, file=("deals.csv", stack.sample_csv))
        answers.append(
            stack.call_api("append_request.json", collection_id=collection_id, multipart=form, headers=KEY)
        )

    assert [answer.status for answer in answers] == [202, 202]
    assert answers[1].json == answers[0].json
    assert stack.upload_request_count() == 1
    stored = stack.s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"incoming/{collection_id}/")
    assert stored["KeyCount"] == 1


def test_keys_are_scoped_to_the_tenant(stack: Stack):
    mine = stack.call_api("create_collection.json", body={"name": "CRM"}, headers=KEY)
    theirs = stack.call_api(
        "create_collection.json", body={"name": "CRM"}, headers=KEY, tenant="someone-else"
    )

    assert theirs.status == 201
    assert theirs.json["id"] != mine.json["id"]
    assert collections_of(stack, "someone-else") == [theirs.json["id"]]


def test_a_request_that_failed_is_not_kept_and_runs_again(stack: Stack):
    collection_id = stack.create_collection()
    failed = stack.call_api(
        "export_request.json", collection_id=collection_id, data_type="leads", body={}, headers=KEY
    )
    stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS)

    again = stack.call_api(
        "export_request.json", collection_id=collection_id, data_type="leads", body={}, headers=KEY
    )

    assert (failed.status, again.status) == (404, 202)


def test_a_kept_answer_expires_after_24_hours(stack: Stack):
    stack.call_api("create_collection.json", body={"name": "CRM"}, headers=KEY)

    (record,) = stack.dynamodb.Table(stack.names["IdempotencyTable"]).scan()["Items"]

    assert record["status"] == "COMPLETED"
    assert abs(int(record["expiration"]) - (time.time() + 24 * 3600)) < 120


@pytest.mark.parametrize("key", ["", "k" * 256, "caf\u00e9", "tab\there"])
def test_a_key_that_is_not_1_to_255_printable_characters_is_422_naming_it(stack: Stack, key: str):
    response = stack.call_api(
        "create_collection.json", body={"name": "CRM"}, headers={"Idempotency-Key": key}
    )

    assert response.status == 422
    assert [error["field"] for error in response.json["errors"]] == ["Idempotency-Key"]
    assert "pattern" not in response.json["errors"][0]["message"]
    assert collections_of(stack) == []


def test_a_repeat_while_the_first_is_still_answered_is_refused(stack: Stack):
    context = FakeLambdaContext(timeout_seconds=29)

    def first_answer() -> dict:
        # The same key arrives again before this answer is kept.
        answer_once(tenant_id="dev", key="k1", request={"a": 1}, answer=dict, lambda_context=context)
        return {}

    with pytest.raises(RequestInProgress, match="still being answered"):
        answer_once(tenant_id="dev", key="k1", request={"a": 1}, answer=first_answer, lambda_context=context)


def test_the_header_is_ignored_on_a_get(stack: Stack):
    collection_id = stack.create_collection()

    first = stack.call_api("get_collection.json", collection_id=collection_id, headers=KEY)
    other = stack.create_collection()
    second = stack.call_api("get_collection.json", collection_id=other, headers=KEY)

    assert (first.json["id"], second.json["id"]) == (collection_id, other)
