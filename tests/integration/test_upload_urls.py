"""Upload URLs in-process: the route, the file PUT to the URL, the validator, the scheduled expiry.

moto stores what a presigned URL PUTs but checks no query-string signature, so what keeps a
client to its one object is checked here the way S3 checks it: the URL's Signature Version 4
signature is computed again for the URL as given and for the same URL naming another key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
import requests
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.integration.harness import LEADS, Stack

ANSWER_FIELDS = {"id", "uploadUrl", "method", "headers", "expiresAt"}
# What the local stack's functions sign with (local_stack.functions.runtime_environment).
LOCAL_CREDENTIALS = Credentials("testing", "testing", "testing")


def put(url: str, content: bytes) -> requests.Response:
    """The file as a customer sends it: one plain PUT, no header of its own."""
    return requests.put(url, data=content, timeout=60)


def signature_for(url: str, method: str) -> str:
    """The Signature Version 4 signature S3 expects for a presigned ``url`` used with ``method``."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.pop("X-Amz-Signature", None)
    request = AWSRequest(
        method=method,
        url=urlunsplit(parts._replace(query=urlencode(query, quote_via=quote))),
        headers={"host": parts.netloc},
    )
    request.context["timestamp"] = query["X-Amz-Date"]
    region = query["X-Amz-Credential"].split("/")[2]
    auth = S3SigV4QueryAuth(LOCAL_CREDENTIALS, "s3", region, expires=int(query["X-Amz-Expires"]))
    return auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def age_upload_url(stack: Stack, collection_id: str, request_id: str, by: timedelta) -> None:
    """Move a waiting request's upload URL expiry into the past, as if that much time had gone by."""
    key = {"collectionKey": f"{collection_id}#deals", "id": request_id}
    until = stack.upload_requests.get_item(Key=key)["Item"]["awaitingFileUntil"]
    stack.upload_requests.update_item(
        Key=key,
        UpdateExpression="SET awaitingFileUntil = :until",
        ExpressionAttributeValues={":until": int(until) - int(by.total_seconds())},
    )


# --------------------------------------------------------------------------- the route


def test_an_upload_url_is_a_presigned_put_of_the_requests_own_key(stack: Stack):
    collection_id = stack.create_collection()
    asked_at = datetime.now(UTC).replace(microsecond=0)

    answer = stack.request_upload_url(collection_id)

    assert set(answer) == ANSWER_FIELDS
    assert (answer["method"], answer["headers"]) == ("PUT", {})
    url = urlsplit(answer["uploadUrl"])
    assert f"{url.scheme}://{url.netloc}" == stack.endpoint  # the local S3, as a client reaches it
    assert url.path == f"/{stack.bucket}/incoming/{collection_id}/deals/api/{answer['id']}"
    query = query_of(answer["uploadUrl"])
    assert (query["X-Amz-Algorithm"], query["X-Amz-SignedHeaders"]) == ("AWS4-HMAC-SHA256", "host")
    assert query["X-Amz-Expires"] == "3600"
    expires_at = datetime.fromisoformat(answer["expiresAt"])
    assert asked_at + timedelta(hours=1) <= expires_at <= datetime.now(UTC) + timedelta(hours=1)
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert expires_at <= signed_at + timedelta(seconds=3600)  # the URL lives at least as long as said


def test_the_upload_urls_signature_holds_for_its_key_alone(stack: Stack):
    collection_id = stack.create_collection()
    url = stack.request_upload_url(collection_id)["uploadUrl"]
    signature = query_of(url)["X-Amz-Signature"]
    other_key = url.replace(f"/{collection_id}/deals/api/", f"/{collection_id}/deals/api/x")
    other_request = url.replace("/api/", "/api/01jd3k8a2b3c4d5e6f7g8h9j0k/../")

    assert signature_for(url, "PUT") == signature
    assert signature_for(other_key, "PUT") != signature
    assert signature_for(other_request, "PUT") != signature
    assert signature_for(url, "GET") != signature  # nor reading it back


def test_the_request_is_listed_and_polled_as_queued_waiting_for_its_file(stack: Stack):
    collection_id = stack.create_collection()
    answer = stack.request_upload_url(collection_id, fileName="deals.csv")

    polled = stack.poll(collection_id, answer["id"])
    listed = stack.call_api("list_upload_requests.json", collection_id=collection_id).json["items"]

    assert listed == [polled]
    assert (polled["status"], polled["sizeBytes"], polled["source"]) == ("queued", 0, "api")
    assert polled["fileName"] == "deals.csv"
    assert polled["message"] == (
        f"waiting for the file: PUT it to the uploadUrl before {answer['expiresAt'].replace('+00:00', 'Z')}"
    )


def test_an_upload_url_without_a_body_takes_the_append_routes_defaults(stack: Stack):
    collection_id = stack.create_collection()

    response = stack.call_api("upload_url_request.json", collection_id=collection_id, raw_body="")

    assert response.status == 201, response.body
    polled = stack.poll(collection_id, response.json["id"])
    assert (polled["separator"], polled["fileName"]) == (",", "upload")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"separator": ";;"}, "separator"),
        ({"separator": '"'}, "separator"),
        ({"separator": "\n"}, "separator"),
        ({"maxBadRecords": -1}, "maxBadRecords"),
        ({"maxBadRecords": "many"}, "maxBadRecords"),
        ({"allowFieldAddition": "perhaps"}, "allowFieldAddition"),
        ({"contentType": "text csv"}, "contentType"),
        ({"fileName": "x.csv", "expiresIn": 60}, "expiresIn"),
    ],
)
def test_an_upload_url_with_a_bad_option_is_422_naming_it(stack: Stack, body: dict[str, Any], field: str):
    collection_id = stack.create_collection()

    response = stack.call_api("upload_url_request.json", collection_id=collection_id, body=body)

    assert response.status == 422, response.body
    assert [error["field"] for error in response.json["errors"]] == [field]
    assert stack.upload_request_count() == 0


def test_an_upload_url_with_a_text_body_is_415(stack: Stack):
    collection_id = stack.create_collection()
    response = stack.call_api(
        "upload_url_request.json",
        collection_id=collection_id,
        raw_body="separator=;",
        headers={"Content-Type": "text/plain"},
    )

    assert response.status == 415
    assert "application/json" in response.json["message"]


def test_an_upload_url_for_another_tenants_collection_is_404(stack: Stack):
    collection_id = stack.create_collection(tenant="someone-else")

    response = stack.call_api("upload_url_request.json", collection_id=collection_id, body={})

    assert response.status == 404
    assert collection_id in response.json["message"]
    assert stack.upload_request_count() == 0


def test_an_upload_url_for_an_unknown_collection_is_404(stack: Stack):
    response = stack.call_api("upload_url_request.json", collection_id="01jd3k7q9x0m5r2c8v4b6n1t3e", body={})

    assert response.status == 404


def test_an_upload_url_for_an_undeclared_data_type_is_404_and_a_declared_one_201(stack: Stack):
    collection_id = stack.create_collection()

    undeclared = stack.call_api(
        "upload_url_request.json", collection_id=collection_id, data_type="leads", body={}
    )
    stack.call_api("declare_data_type.json", collection_id=collection_id, data_type="leads", body=LEADS)
    declared = stack.call_api(
        "upload_url_request.json", collection_id=collection_id, data_type="leads", body={}
    )

    assert (undeclared.status, declared.status) == (404, 201)
    assert "unknown data type 'leads'" in undeclared.json["message"]


# --------------------------------------------------------------------------- the file


def test_a_file_put_to_its_upload_url_is_merged_with_the_options_asked_for(stack: Stack):
    collection_id = stack.create_collection()
    lines = stack.sample_csv.rstrip(b"\n").split(b"\n")
    bad_row = lines[-1].replace(b"5,Customer E", b"6,Customer F").replace(b",open,", b",bogus,")
    content = b"\n".join([*lines, bad_row]).replace(b",", b"|")
    answer = stack.request_upload_url(collection_id, fileName="deals.csv", separator="|", maxBadRecords=1)

    assert put(answer["uploadUrl"], content).status_code == 200
    assert stack.deliver_notifications() == 1

    done = stack.poll(collection_id, answer["id"])
    assert (done["status"], done["rowsInserted"], done["rowsRejected"]) == ("completed", 5, 1), done
    assert done["sizeBytes"] == len(content)
    assert done["message"].startswith("1 rows were rejected")  # the outcome's, no longer the waiting one
    assert stack.upload_request_count() == 1


def test_a_file_under_api_naming_no_request_is_left_alone(stack: Stack):
    collection_id = stack.create_collection()
    key = f"incoming/{collection_id}/deals/api/01jd3k8a2b3c4d5e6f7g8h9j0k"

    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=stack.sample_csv)

    assert stack.deliver_notifications() == 1
    assert stack.upload_request_count() == 0
    assert stack.table_rows(collection_id) is None


# --------------------------------------------------------------------------- expiry


def test_a_request_whose_file_never_came_ends_error_on_the_schedule(stack: Stack):
    collection_id = stack.create_collection()
    waiting = stack.request_upload_url(collection_id)["id"]
    expired = stack.request_upload_url(collection_id)["id"]
    age_upload_url(stack, collection_id, expired, by=timedelta(hours=1, minutes=16))  # past the 15 min grace

    assert stack.run_upload_expiry() == [expired]

    ended = stack.poll(collection_id, expired)
    assert ended["status"] == "error"
    assert ended["message"].startswith("no file arrived before the upload URL expired at ")
    assert "ask for a new upload URL" in ended["message"]
    assert ended["finishedDatetime"] is not None
    assert stack.poll(collection_id, waiting)["status"] == "queued"


def test_a_request_is_not_ended_within_the_grace_period(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.request_upload_url(collection_id)["id"]
    age_upload_url(stack, collection_id, request_id, by=timedelta(hours=1, minutes=14))

    assert stack.run_upload_expiry() == []

    assert stack.poll(collection_id, request_id)["status"] == "queued"


def test_a_file_arriving_after_its_request_ended_changes_nothing(stack: Stack):
    collection_id = stack.create_collection()
    answer = stack.request_upload_url(collection_id)
    age_upload_url(stack, collection_id, answer["id"], by=timedelta(hours=2))
    stack.run_upload_expiry()
    ended = stack.poll(collection_id, answer["id"])

    key = f"incoming/{collection_id}/deals/api/{answer['id']}"
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=stack.sample_csv)
    stack.deliver_notifications()

    assert stack.poll(collection_id, answer["id"]) == ended
    assert stack.table_rows(collection_id) is None


def test_a_request_whose_file_arrived_is_never_ended_by_the_schedule(stack: Stack):
    collection_id = stack.create_collection()
    answer = stack.request_upload_url(collection_id)
    # PUT in time, processed after the URL expired (a notification can take a while), swept later.
    age_upload_url(stack, collection_id, answer["id"], by=timedelta(hours=2))
    put(answer["uploadUrl"], stack.sample_csv)
    stack.deliver_notifications()

    assert stack.run_upload_expiry() == []

    assert stack.poll(collection_id, answer["id"])["status"] == "completed"
