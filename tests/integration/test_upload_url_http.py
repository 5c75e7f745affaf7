"""Upload URLs against ``python -m local_stack`` over HTTP, as a customer with a large export uses them:
ask for a URL, PUT the file to it with a plain ``requests.put``, poll the request."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.running_service import ROOT, Service, running_service

SAMPLE = ROOT / "events" / "deals.csv"
# Over twice the API's ~4.5 MB (the sample's rows are ~480 bytes each).
ROWS = 24_000
CURL = shutil.which("curl")


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with running_service() as running:
        yield running


@pytest.fixture(scope="module")
def large_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deals export of ROWS rows, the sample's rows over and over, each with an id of its own."""
    header, *rows = SAMPLE.read_text().strip().splitlines()
    path = tmp_path_factory.mktemp("exports") / "deals-export.csv"
    with path.open("w") as export:
        export.write(header + "\n")
        for number in range(ROWS):
            _, rest = rows[number % len(rows)].split(",", 1)
            export.write(f"{number + 1},{rest}\n")
    return path


def ask_for_upload_url(service: Service, collection_id: str, **options: object) -> requests.Response:
    return requests.post(
        f"{service.url}/api/collection/{collection_id}/data/deals/append/upload-url",
        json=options,
        headers=service.headers,
        timeout=30,
    )


def test_a_large_export_put_to_its_upload_url_is_merged(service: Service, large_export: Path):
    collection_id = service.create_collection()
    asked = ask_for_upload_url(service, collection_id, fileName=large_export.name)
    assert asked.status_code == 201, asked.text
    answer = asked.json()

    with large_export.open("rb") as export:
        put = requests.put(answer["uploadUrl"], data=export, headers=answer["headers"], timeout=120)

    assert put.status_code == 200, put.text
    finished = service.wait_until_finished(collection_id, answer["id"], timeout=300)
    assert (finished["status"], finished["rowsInserted"]) == ("completed", ROWS), finished
    assert finished["sizeBytes"] == large_export.stat().st_size > 8 * 1024 * 1024
    collection_url = f"{service.url}/api/collection/{collection_id}"
    collection = requests.get(collection_url, headers=service.headers, timeout=30)
    assert collection.json()["dataTypes"]["deals"]["rowCount"] == ROWS


@pytest.mark.skipif(CURL is None, reason="needs curl")
def test_a_plain_curl_upload_to_the_url_is_merged(service: Service):
    collection_id = service.create_collection()
    answer = ask_for_upload_url(service, collection_id, fileName="deals.csv").json()

    command = [str(CURL), "--fail", "--silent", "-T", str(SAMPLE), answer["uploadUrl"]]
    subprocess.run(command, check=True, timeout=60)  # noqa: S603 (our own URL)

    finished = service.wait_until_finished(collection_id, answer["id"])
    assert (finished["status"], finished["rowsInserted"]) == ("completed", 5), finished


def test_until_its_file_arrives_the_request_is_queued_saying_it_waits(service: Service):
    collection_id = service.create_collection()
    answer = ask_for_upload_url(service, collection_id).json()

    polled = service.upload_request(collection_id, answer["id"])
    listing = requests.get(
        f"{service.url}/api/collection/{collection_id}/data/deals/append", headers=service.headers, timeout=30
    ).json()["items"]

    assert [item["id"] for item in listing] == [answer["id"]]
    assert (polled["status"], polled["sizeBytes"]) == ("queued", 0)
    assert polled["message"].startswith("waiting for the file: PUT it to the uploadUrl before ")


def test_options_are_refused_as_on_the_append_route(service: Service):
    collection_id = service.create_collection()

    refused = [
        ask_for_upload_url(service, collection_id, **options)
        for options in ({"separator": "ab"}, {"maxBadRecords": -1}, {"colour": "blue"})
    ]

    assert [response.status_code for response in refused] == [422, 422, 422]
    assert [response.json()["errors"][0]["field"] for response in refused] == [
        "separator",
        "maxBadRecords",
        "colour",
    ]


def test_a_request_whose_file_never_comes_ends_error_on_the_local_schedule():
    overrides = "UploadUrlSeconds=1 UploadUrlGraceSeconds=0"
    with running_service(LOCAL_SCHEDULE_SECONDS="1", LOCAL_PARAMETER_OVERRIDES=overrides) as service:
        collection_id = service.create_collection()
        answer = ask_for_upload_url(service, collection_id).json()

        # The URL lives one second; the schedule, every second, ends the request after it.
        ended = service.wait_until_finished(collection_id, answer["id"], timeout=60)

    assert ended["status"] == "error"
    assert ended["message"].startswith("no file arrived before the upload URL expired at ")
    assert "ask for a new upload URL" in ended["message"]
