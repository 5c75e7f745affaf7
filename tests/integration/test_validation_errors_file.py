"""GET .../append/{requestId}/errors: every problem an upload found, as CSV."""

from __future__ import annotations

import csv
import io
import json

import requests

from tests.integration.harness import LEADS, Stack

HEADER = ["line", "row", "column", "value", "message"]


def leads_collection(stack: Stack) -> str:
    collection_id = stack.create_collection()
    assert stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS).status == 201
    return collection_id


def failed_upload(stack: Stack, collection_id: str, bad_rows: int) -> str:
    """An upload of leads whose every row has a score that is no number; its request id."""
    lines = b"".join(f"l{number},high,2024-06-18T12:00:00Z\n".encode() for number in range(bad_rows))
    request_id = stack.append_file(
        collection_id, "leads.csv", b"id,score,updatedAt\n" + lines, data_type="leads"
    )
    stack.deliver_notifications()
    finished = stack.poll(collection_id, request_id, "leads")
    assert (finished["status"], finished["validationErrorCount"]) == ("error", bad_rows)
    return request_id


def errors_file(
    stack: Stack, collection_id: str, request_id: str, data_type: str = "leads", tenant: str = "dev"
):
    return stack.call_api(
        "get_validation_errors.json",
        collection_id=collection_id,
        data_type=data_type,
        request_id=request_id,
        tenant=tenant,
    )


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_errors_file_lists_every_problem_with_its_line_column_value_and_message(stack: Stack):
    collection_id = leads_collection(stack)
    request_id = failed_upload(stack, collection_id, bad_rows=3)

    response = errors_file(stack, collection_id, request_id)

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = parsed(response.body)
    assert lines[0] == HEADER
    assert [line[:4] for line in lines[1:]] == [[str(number), "", "score", "high"] for number in (2, 3, 4)]
    assert all(line[4] for line in lines[1:])


def test_the_errors_file_lists_more_than_the_100_problems_the_request_shows(stack: Stack):
    collection_id = leads_collection(stack)
    request_id = failed_upload(stack, collection_id, bad_rows=150)
    polled = stack.poll(collection_id, request_id, "leads")
    assert len(polled["validationErrors"]) == 100
    # What processing writes beside the request once the validator keeps every problem.
    every = [
        {"line": number + 2, "column": "score", "value": "high", "message": "'high' is not a number"}
        for number in range(150)
    ]
    stack.s3.put_object(
        Bucket=stack.bucket,
        Key=f"reports/{collection_id}/leads/{request_id}.json",
        Body=json.dumps({"status": "error", "validationErrorCount": 150, "validationErrors": every}).encode(),
    )

    lines = parsed(errors_file(stack, collection_id, request_id).body)

    assert len(lines) == 1 + 150
    assert lines[-1] == ["151", "", "score", "high", "'high' is not a number"]


def test_values_holding_commas_quotes_and_line_breaks_stay_one_field(stack: Stack):
    collection_id = leads_collection(stack)
    text = b'id,score,updatedAt\nl1,"1,5 ""or"" 2",2024-06-18T12:00:00Z\n'
    request_id = stack.append_file(collection_id, "leads.csv", text, data_type="leads")
    stack.deliver_notifications()

    lines = parsed(errors_file(stack, collection_id, request_id).body)

    assert lines[1][:4] == ["2", "", "score", '1,5 "or" 2']


def test_a_file_too_large_to_answer_with_is_a_redirect_to_its_download(stack: Stack):
    collection_id = leads_collection(stack)
    request_id = failed_upload(stack, collection_id, bad_rows=2)
    every = [
        {"line": number, "column": "score", "value": "v" * 200, "message": "m" * 200}
        for number in range(12000)
    ]
    stack.s3.put_object(
        Bucket=stack.bucket,
        Key=f"reports/{collection_id}/leads/{request_id}.json",
        Body=json.dumps({"validationErrors": every}).encode(),
    )

    response = errors_file(stack, collection_id, request_id)

    assert response.status == 303
    downloaded = requests.get(response.headers["Location"], timeout=30)
    assert downloaded.status_code == 200
    assert len(parsed(downloaded.text)) == 1 + 12000


def test_an_upload_that_found_no_problem_has_no_errors_file(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.append_file(collection_id, "deals.csv", stack.sample_csv)
    stack.deliver_notifications()

    response = errors_file(stack, collection_id, request_id, data_type="deals")

    assert response.status == 404
    assert "found no problem" in response.json["message"]


def test_an_upload_not_validated_yet_has_no_errors_file(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.append_file(collection_id, "deals.csv", stack.sample_csv)

    response = errors_file(stack, collection_id, request_id, data_type="deals")

    assert response.status == 404
    assert "queued" in response.json["message"]


def test_another_tenants_errors_file_is_not_found(stack: Stack):
    collection_id = leads_collection(stack)
    request_id = failed_upload(stack, collection_id, bad_rows=1)

    response = errors_file(stack, collection_id, request_id, tenant="someone-else")

    assert response.status == 404
    assert "high" not in response.body


def test_an_unknown_upload_request_has_no_errors_file(stack: Stack):
    collection_id = leads_collection(stack)

    assert errors_file(stack, collection_id, "01jd3k8a2b3c4d5e6f7g8h9j0k").status == 404


def test_a_request_id_that_is_no_id_is_422_naming_request_id(stack: Stack):
    collection_id = leads_collection(stack)

    response = errors_file(stack, collection_id, "not-an-id")

    assert response.status == 422
    assert response.json["errors"][0]["field"] == "requestId"
