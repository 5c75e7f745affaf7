"""The customer API over HTTP against ``python -m local_stack`` (what ``make run`` starts), with two
tenants (``DEV_TOKENS``): listing, rows, exports, errors files, deleting, safe retries, and the
error body of every kind of refusal."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.running_service import ROOT, Service, running_service

OTHER = {"Authorization": "Token other-tenants-token"}
SAMPLE = (ROOT / "events" / "deals.csv").read_bytes()
LEADS = {
    "fields": [
        {"name": "id", "type": "string", "required": True},
        {"name": "score", "type": "number"},
        {"name": "updatedAt", "type": "datetime"},
    ],
    "key": "id",
    "versionField": "updatedAt",
}


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with running_service(DEV_TOKENS="other-tenants-token=other-tenant") as running:
        yield running


def call(service: Service, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
    return requests.request(
        method,
        service.url + path,
        headers=service.headers if headers is None else headers,
        timeout=60,
        **kwargs,
    )


def append(service: Service, collection_id: str, content: bytes, data_type: str = "deals") -> dict[str, Any]:
    response = call(
        service,
        "POST",
        f"/api/collection/{collection_id}/data/{data_type}/append",
        files={"file": ("data.csv", content)},
    )
    assert response.status_code == 202, response.text
    return service.wait_until_finished(collection_id, response.json()["id"], data_type=data_type)


def eventually(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def all_rows(service: Service, collection_id: str) -> list[dict[str, Any]]:
    rows, token = [], None
    while True:
        query = {"limit": "2"} | ({"nextToken": token} if token else {})
        page = call(service, "GET", f"/api/collection/{collection_id}/data/deals/rows", params=query).json()
        rows += page["rows"]
        token = page["nextToken"]
        if token is None:
            return rows


@pytest.fixture(scope="module")
def deals(service: Service) -> str:
    collection_id = service.create_collection("deals")
    assert append(service, collection_id, SAMPLE)["status"] == "completed"
    return collection_id


def test_each_tenant_lists_only_its_own_collections(service: Service, deals: str):
    theirs = call(service, "POST", "/api/collection", headers=OTHER, json={"name": "theirs"}).json()["id"]

    mine = [item["id"] for item in call(service, "GET", "/api/collection").json()["items"]]
    listed = [item["id"] for item in call(service, "GET", "/api/collection", headers=OTHER).json()["items"]]

    assert deals in mine
    assert theirs not in mine
    assert listed == [theirs]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("GET", "/data/deals/rows"),
        ("POST", "/data/deals/export"),
        ("GET", "/data/deals/export/01jd3k9b3c4d5e6f7g8h9j0k1m"),
        ("GET", "/data/deals/append/01jd3k8a2b3c4d5e6f7g8h9j0k/errors"),
        ("DELETE", "/data/deals"),
        ("DELETE", ""),
    ],
)
def test_another_tenant_gets_404_on_every_route_of_a_collection(
    service: Service, deals: str, method: str, path: str
):
    response = call(service, method, f"/api/collection/{deals}{path}", headers=OTHER, json={})

    assert response.status_code == 404, response.text
    assert set(response.json()) == {"message", "errors"}
    assert len(all_rows(service, deals)) == 5


def test_rows_are_read_back_typed_and_paged(service: Service, deals: str):
    rows = all_rows(service, deals)

    assert [row["id"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert isinstance(rows[0]["value"], float)
    assert rows[0]["creationDatetime"].endswith("Z")


def test_a_csv_export_downloaded_and_appended_to_a_new_collection_gives_the_same_rows(
    service: Service, deals: str
):
    queued = call(service, "POST", f"/api/collection/{deals}/data/deals/export", json={"format": "csv"})
    assert queued.status_code == 202, queued.text
    export_path = f"/api/collection/{deals}/data/deals/export/{queued.json()['id']}"

    done = eventually(
        lambda: (body := call(service, "GET", export_path).json())["status"] == "completed" and body
    )
    assert done, call(service, "GET", export_path).text
    exported = requests.get(done["url"], timeout=30)
    assert exported.status_code == 200
    copy = service.create_collection("copy")

    assert append(service, copy, exported.content)["status"] == "completed"
    assert all_rows(service, copy) == all_rows(service, deals)


def test_the_errors_file_lists_each_problem_as_csv(service: Service):
    collection_id = service.create_collection("leads")
    assert call(service, "PUT", f"/api/collection/{collection_id}/data/leads", json=LEADS).status_code == 201
    bad = b"id,score,updatedAt\nl1,high,2024-06-18T12:00:00Z\nl2,low,2024-06-18T12:00:00Z\n"
    finished = append(service, collection_id, bad, "leads")

    response = call(
        service, "GET", f"/api/collection/{collection_id}/data/leads/append/{finished['id']}/errors"
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == ["line", "row", "column", "value", "message"]
    assert [line[:4] for line in lines[1:]] == [["2", "", "score", "high"], ["3", "", "score", "low"]]


def test_a_deleted_collection_is_gone_and_purged_from_the_bucket(service: Service):
    collection_id = service.create_collection("to delete")
    append(service, collection_id, SAMPLE)
    s3 = service.s3()

    def stored() -> list[str]:
        listed = s3.list_objects_v2(Bucket=service.bucket).get("Contents", [])
        return [item["Key"] for item in listed if f"/{collection_id}/" in item["Key"]]

    assert stored()
    deleted = call(service, "DELETE", f"/api/collection/{collection_id}")

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert call(service, "GET", f"/api/collection/{collection_id}").status_code == 404
    assert eventually(lambda: not stored()), stored()


def test_deleting_deals_rows_lets_deals_be_appended_again_at_once(service: Service):
    collection_id = service.create_collection("reset")
    append(service, collection_id, SAMPLE)

    assert call(service, "DELETE", f"/api/collection/{collection_id}/data/deals").status_code == 204
    rows = call(service, "GET", f"/api/collection/{collection_id}/data/deals/rows").json()["rows"]
    assert rows == []
    assert append(service, collection_id, SAMPLE)["rowsInserted"] == 5


def test_a_post_sent_twice_with_an_idempotency_key_creates_one_collection(service: Service):
    headers = service.headers | {"Idempotency-Key": "http-retry-1"}

    first = call(service, "POST", "/api/collection", headers=headers, json={"name": "once"})
    again = call(service, "POST", "/api/collection", headers=headers, json={"name": "once"})
    other = call(service, "POST", "/api/collection", headers=headers, json={"name": "twice"})

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert "Idempotency-Key" in other.json()["message"]


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (lambda s: call(s, "GET", "/api/collection", headers={}), 401),
        (lambda s: call(s, "GET", "/api/collection", headers={"Authorization": "Token nope"}), 401),
        (lambda s: call(s, "GET", "/api/collections"), 404),
        (lambda s: call(s, "PATCH", "/api/collection"), 405),
        (lambda s: call(s, "POST", "/api/collection", data=b"x" * (10 * 1024 * 1024 + 1)), 413),
        (lambda s: call(s, "GET", "/api/collection/NOT-AN-ID"), 422),
        (lambda s: call(s, "GET", "/api/collection", params={"limit": "0"}), 422),
    ],
)
def test_every_refusal_has_the_documented_error_body(service: Service, send: Any, status: int):
    response = send(service)

    assert response.status_code == status
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert body["message"]
    assert isinstance(body["errors"], list)
