"""Fixtures for the data plane against moto: a bucket, a Glue database and settings naming them.

Each test gets its own bucket and database, so tests share the session's moto server
without seeing each other's tables and without resetting it under other tests.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest

from ingestion.settings import Settings
from tests.conftest import make_settings

EVENTS = Path(__file__).resolve().parents[3] / "events"


@pytest.fixture
def settings(moto_endpoint: str) -> Settings:
    suffix = uuid.uuid4().hex[:12]
    bucket, database = f"data-{suffix}", f"collections_{suffix}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    boto3.client("glue", endpoint_url=moto_endpoint).create_database(DatabaseInput={"Name": database})
    return make_settings(
        DATA_BUCKET=bucket, GLUE_DATABASE=database, AWS_ENDPOINT_URL=moto_endpoint, AWS_REGION="us-east-1"
    )


@pytest.fixture
def sample_csv() -> bytes:
    """The 5-row ``deals`` sample of the API we model."""
    return (EVENTS / "deals.csv").read_bytes()
