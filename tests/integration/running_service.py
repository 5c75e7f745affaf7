"""``python -m local_stack`` (what ``make run`` starts) as a subprocess, for tests that use the
service over HTTP as a customer would."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "http-test-token"
# Lines of the service's output kept to explain a failure.
KEPT_LINES = 400


@dataclass
class Service:
    url: str
    aws_endpoint: str
    bucket: str
    headers: dict[str, str]
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=KEPT_LINES))

    def create_collection(self, name: str = "CRM deals") -> str:
        response = requests.post(
            f"{self.url}/api/collection", json={"name": name}, headers=self.headers, timeout=30
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def upload_request(self, collection_id: str, request_id: str, data_type: str = "deals") -> dict[str, Any]:
        url = f"{self.url}/api/collection/{collection_id}/data/{data_type}/append/{request_id}"
        response = requests.get(url, headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_until_finished(
        self, collection_id: str, request_id: str, timeout: float = 60, data_type: str = "deals"
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.upload_request(collection_id, request_id, data_type)
            if body["status"] in ("completed", "error"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"request {request_id} still {body['status']} after {timeout} s; the service said:\n"
                    + "".join(self.output)
                )
            time.sleep(0.3)

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.aws_endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )


@contextmanager
def running_service(**environment: str) -> Iterator[Service]:
    """The service on free ports until the block ends; ``environment`` adds to its variables."""
    api_port, aws_port = free_port(), free_port()
    variables = (
        os.environ
        | {
            "API_PORT": str(api_port),
            "AWS_PORT": str(aws_port),
            "DEV_TOKEN": TOKEN,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "shared")]),
        }
        | environment
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
    bucket = _read_banner(process, api_port, output)
    # Keep reading, or the service blocks once the pipe's buffer is full of its logs.
    threading.Thread(target=_drain, args=(process, output), daemon=True).start()
    try:
        yield Service(
            url=f"http://127.0.0.1:{api_port}",
            aws_endpoint=f"http://127.0.0.1:{aws_port}",
            bucket=bucket,
            headers={"Authorization": f"Token {TOKEN}"},
            output=output,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _read_banner(process: subprocess.Popen[str], api_port: int, output: collections.deque[str]) -> str:
    assert process.stdout is not None
    bucket = None
    for line in process.stdout:
        output.append(line)
        if "ingestion-data-" in line and bucket is None:
            bucket = next(
                word.strip("/,")
                for word in line.replace("s3://", " ").split()
                if word.startswith("ingestion-data-")
            )
        if f"http://127.0.0.1:{api_port}" in line and bucket:
            return bucket
    raise AssertionError("local stack exited:\n" + "".join(output))


def _drain(process: subprocess.Popen[str], output: collections.deque[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
