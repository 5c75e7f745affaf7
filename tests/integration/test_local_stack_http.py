"""The README's walk-through against ``python -m local_stack`` (what ``make run`` starts), over HTTP.

The upload is sent exactly as the reference API's own Python snippet sends it: requests,
multipart ``file`` + ``separator``, ``Authorization: Token ...``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
import requests

from tests.integration.running_service import ROOT, TOKEN, Service, running_service

SAMPLE = ROOT / "events" / "deals.csv"


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with running_service() as running:
        yield running


def test_the_reference_snippet_uploads_the_sample_and_it_is_merged(service: Service):
    collection_id = service.create_collection()
    url = f"{service.url}/api/collection/{collection_id}/data/deals/append"
    payload = {"separator": ","}
    with SAMPLE.open("rb") as handle:
        files = [("file", ("my-deals-data.csv", handle, "text/csv"))]
        headers = {"Authorization": f"Token {TOKEN}"}
        response = requests.request("POST", url, headers=headers, data=payload, files=files, timeout=30)

    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued"
    finished = service.wait_until_finished(collection_id, queued["id"])
    assert (finished["status"], finished["rowsInserted"]) == ("completed", 5), finished
    collection = requests.get(
        f"{service.url}/api/collection/{collection_id}", headers=service.headers, timeout=30
    )
    assert collection.json()["dataTypes"]["deals"]["rowCount"] == 5


def test_a_file_dropped_into_the_bucket_is_merged(service: Service):
    collection_id = service.create_collection()
    service.s3().put_object(
        Bucket=service.bucket, Key=f"incoming/{collection_id}/deals/deals.csv", Body=SAMPLE.read_bytes()
    )

    listing_url = f"{service.url}/api/collection/{collection_id}/data/deals/append"
    deadline = time.monotonic() + 60  # the request appears once the validator has seen the file
    items: list = []
    while time.monotonic() < deadline and not items:
        items = requests.get(listing_url, headers=service.headers, timeout=30).json()["items"]
        time.sleep(0.5)
    assert items, "the dropped file never produced an upload request"
    finished = service.wait_until_finished(collection_id, items[0]["id"])
    assert (finished["source"], finished["status"], finished["rowsInserted"]) == ("s3", "completed", 5)


def test_a_missing_token_is_401(service: Service):
    response = requests.post(f"{service.url}/api/collection", json={"name": "x"}, timeout=30)
    assert response.status_code == 401
    assert "Token" in response.json()["message"]


def test_a_body_over_the_api_gateway_limit_is_413_saying_so(service: Service):
    collection_id = service.create_collection()
    url = f"{service.url}/api/collection/{collection_id}/data/deals/append"
    too_big = b"x" * (10 * 1024 * 1024 + 1)
    response = requests.post(
        url, headers=service.headers, files=[("file", ("big.csv", too_big, "text/csv"))], timeout=60
    )
    assert response.status_code == 413
    assert "10 MB" in response.json()["message"]


def test_the_api_describes_itself_to_anyone_even_offline(service: Service):
    document = requests.get(f"{service.url}/api/openapi.json", timeout=30)
    page = requests.get(f"{service.url}/api/docs", timeout=30)

    assert document.status_code == 200
    assert document.json() == json.loads(
        (ROOT / "layers" / "shared" / "ingestion" / "openapi.json").read_text()
    )
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    # Swagger UI's script and styles are in the page: nothing is fetched from elsewhere.
    assert not re.search(r"<(?:script|link)[^>]+(?:src|href)=[\"']?https?://", page.text)
