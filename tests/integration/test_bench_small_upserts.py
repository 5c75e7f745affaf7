"""Case 3 of the benchmark, run as ``make bench`` runs it (a process of its own beside the moto
server): every upload's time comes with the CPU seconds behind it and a control of the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
UPLOADS = 3


def test_each_upload_records_its_cpu_seconds_the_server_s_and_the_fixed_work_after_it(
    moto_endpoint: str, tmp_path: Path
) -> None:
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket="bench-case-3")
    boto3.client("glue", endpoint_url=moto_endpoint).create_database(DatabaseInput={"Name": "bench_case_3"})
    result = tmp_path / "result.json"
    options = {
        "--result": str(result),
        "--endpoint": moto_endpoint,
        "--bucket": "bench-case-3",
        "--database": "bench_case_3",
        "--collection": "synced",
        "--request": "sync",
        "--uploads": str(UPLOADS),
    }

    subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "bench.cases",
            "small-upserts",
            *(part for pair in options.items() for part in pair),
        ],
        cwd=ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "POWERTOOLS_LOG_LEVEL": "WARNING"},
        check=True,
        capture_output=True,
    )
    figures = json.loads(result.read_text())

    assert figures["row_count"] == 5
    for name in ("upload_seconds", "upload_cpu_seconds", "control_seconds"):
        assert len(figures[name]) == UPLOADS, name
        assert all(value > 0 for value in figures[name]), (name, figures[name])
    if not Path("/proc/self/stat").exists():
        pytest.skip("the server's CPU seconds are read from /proc")
    # The server runs in this process, the case's parent: its CPU seconds serve the uploads' requests.
    assert len(figures["server_cpu_seconds"]) == UPLOADS
    assert sum(figures["server_cpu_seconds"]) > 0
