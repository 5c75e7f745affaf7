"""The README's walk-through against ``python -m local_stack`` (what ``make run`` starts), over HTTP.

The upload is sent exactly as the reference API's own Python snippet sends it: requests,
multipart ``file`` + ``separator``, ``Authorization: Token ...``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "events" / "deals.csv"
TOKEN = "http-test-token"


@dataclass
class Service:
    url: str
    aws_endpoint: str
    bucket: str
    headers: dict[str, str]

    def create_collection(self) -> str:
        response = requests.post(
            f"{self.url}/api/collection", json={"name": "CRM deals"}, headers=self.headers, timeout=30
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def wait_until_finished(self, collection_id: str, request_id: str, timeout: float = 60) -> dict:
        url = f"{self.url}/api/collection/{collection_id}/data/deals/append/{request_id}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = requests.get(url, headers=self.headers, timeout=30).json()
            if body["status"] in ("completed", "error"):
                return body
            time.sleep(0.5)
        raise AssertionError(f"request {request_id} still {body['status']} after {timeout} s")


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    api_port, aws_port = free_port(), free_port()
    environment = os.environ | {
        "API_PORT": str(api_port),
        "AWS_PORT": str(aws_port),
        "DEV_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "shared")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    bucket = None
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if "ingestion-data-" in line and bucket is None:
            bucket = next(
                word.strip("/,")
                for word in line.replace("s3://", " ").split()
                if word.startswith("ingestion-data-")
            )
        if f"http://127.0.0.1:{api_port}" in line and bucket:
            break
    else:
        raise AssertionError("local stack exited:\n" + "".join(output))
    try:
        yield Service(
            url=f"http://127.0.0.1:{api_port}",
            aws_endpoint=f"http://127.0.0.1:{aws_port}",
            bucket=bucket,
            headers={"Authorization": f"Token {TOKEN}"},
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


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
    s3 = boto3.client(
        "s3",
        endpoint_url=service.aws_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.put_object(
        Bucket=service.bucket, Key=f"incoming/{collection_id}/deals/deals.csv", Body=SAMPLE.read_bytes()
    )

    listing_url = f"{service.url}/api/collection/{collection_id}/data/deals/append"
    deadline = time.monotonic() + 60
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
