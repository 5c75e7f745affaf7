"""The README's "Reading the data from other engines" against ``make run``: examples/read_with_pyiceberg.py
run as the README shows it, and the current snapshot's files (what the DuckDB snippet reads) against
every Parquet file in the table's folder (what a glob would read)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

import pyarrow.parquet as pq
import pytest
import requests
from pyarrow import fs

from tests.integration.harness import LEADS
from tests.integration.running_service import ROOT, Service, running_service

EXAMPLE = ROOT / "examples" / "read_with_pyiceberg.py"
FIRST = (
    "id,score,updatedAt\n"
    "a1,1.5,2024-05-01T08:00:00Z\na2,2.5,2024-05-01T08:00:00Z\na3,-0.25,2024-05-01T08:00:00Z\n"
)
# a2 again, newer: it replaces the stored a2.
SECOND = "id,score,updatedAt\na2,9.0,2024-06-01T08:00:00Z\n"


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with running_service() as running:
        yield running


def leads_collection(service: Service) -> str:
    collection_id = service.create_collection("engines")
    url = f"{service.url}/api/collection/{collection_id}/data/leads"
    response = requests.put(url, json=LEADS, headers=service.headers, timeout=30)
    assert response.status_code in (200, 201), response.text
    return collection_id


def append(service: Service, collection_id: str, csv: str) -> dict:
    url = f"{service.url}/api/collection/{collection_id}/data/leads/append"
    files = [("file", ("leads.csv", csv.encode(), "text/csv"))]
    response = requests.post(url, headers=service.headers, data={"separator": ","}, files=files, timeout=30)
    assert response.status_code == 202, response.text
    finished = service.wait_until_finished(collection_id, response.json()["id"], data_type="leads")
    assert finished["status"] == "completed", finished
    return finished


def read_with_the_example(service: Service, collection_id: str) -> list[dict]:
    """examples/read_with_pyiceberg.py, run as the README says, its rows as (id, score, updatedAt)."""
    result = subprocess.run(  # noqa: S603 (the project's own example)
        [sys.executable, str(EXAMPLE)],
        cwd=ROOT,
        env=os.environ
        | {"AWS_ENDPOINT_URL": service.aws_endpoint, "COLLECTION_ID": collection_id, "DATA_TYPE": "leads"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def as_rows(csv: str) -> list[tuple]:
    lines = [line.split(",") for line in csv.splitlines()[1:]]
    return sorted((id_, float(score), datetime.fromisoformat(at)) for id_, score, at in lines)


def rows_of(records: list[dict]) -> list[tuple]:
    return sorted((row["id"], row["score"], datetime.fromisoformat(str(row["updatedAt"]))) for row in records)


def test_the_pyiceberg_example_reads_the_rows_uploaded(service: Service):
    collection_id = leads_collection(service)
    append(service, collection_id, FIRST)

    records = read_with_the_example(service, collection_id)

    assert rows_of(records) == as_rows(FIRST)
    assert set(records[0]) == {"id", "score", "updatedAt"}


def test_the_current_snapshots_files_hold_the_current_rows_and_a_glob_also_finds_replaced_ones(
    service: Service,
):
    from pyiceberg.catalog import load_catalog

    collection_id = leads_collection(service)
    append(service, collection_id, FIRST)
    assert append(service, collection_id, SECOND)["rowsUpdated"] == 1
    current = sorted([row for row in as_rows(FIRST) if row[0] != "a2"] + as_rows(SECOND))

    assert rows_of(read_with_the_example(service, collection_id)) == current

    endpoint = service.aws_endpoint
    credentials = {"region": "us-east-1", "access-key-id": "testing", "secret-access-key": "testing"}
    catalog = load_catalog(
        "local",
        type="glue",
        **{f"glue.{name}": value for name, value in credentials.items()},
        **{f"s3.{name}": value for name, value in credentials.items()},
        **{"glue.endpoint": endpoint, "s3.endpoint": endpoint},
    )
    table = catalog.load_table(f"ingestion_local.{collection_id}_leads")
    tasks = list(table.scan().plan_files())
    assert all(not task.delete_files for task in tasks)
    snapshot_files = [task.file.file_path for task in tasks]
    s3 = fs.S3FileSystem(
        access_key="testing",
        secret_key="testing",
        region="us-east-1",
        endpoint_override=endpoint,
        scheme="http",
    )

    def read(paths: list[str]) -> list[tuple]:
        records = [
            row
            for path in paths
            for row in pq.read_table(path.removeprefix("s3://"), filesystem=s3).to_pylist()
        ]
        return rows_of(records)

    assert read(snapshot_files) == current
    folder = f"{service.bucket}/warehouse/{collection_id}/leads/data"
    every_file = [
        info.path
        for info in s3.get_file_info(fs.FileSelector(folder, recursive=True))
        if info.path.endswith(".parquet")
    ]
    globbed = read(every_file)
    assert len(globbed) > len(current)
    assert ("a2", 2.5, datetime.fromisoformat("2024-05-01T08:00:00Z")) in globbed
