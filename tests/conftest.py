"""Fixtures shared by every test: an embedded moto server and the environment pointing at it.

The data plane talks to S3 through pyarrow's own (C++) client, which an in-process
``mock_aws`` cannot intercept, so every test that touches AWS uses one moto server
running in a thread on a free loopback port; boto3 and pyarrow both reach it through
``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from ingestion.settings import Settings

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "ingestion-tests",
    "POWERTOOLS_METRICS_NAMESPACE": "IngestionTests",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def make_settings(**overrides: object) -> Settings:
    """Settings for tests that build them by hand; the table names matter to none of them."""
    values: dict[str, object] = {
        "COLLECTIONS_TABLE": "collections",
        "UPLOAD_REQUESTS_TABLE": "upload-requests",
        "TOKENS_TABLE": "tokens",
        "DATA_TYPES_TABLE": "data-types",
        "EXPORTS_TABLE": "exports",
        "IDEMPOTENCY_TABLE": "idempotency",
        "COMMIT_LOCKS_TABLE": "commit-locks",
        "DATA_BUCKET": "data",
        "GLUE_DATABASE": "collections",
    }
    return Settings.model_validate(values | overrides)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Set at import, before any test module is collected: Powertools reads its variables when
# ``ingestion.observability`` is first imported, and no test may ever reach a real account.
os.environ.update(FAKE_CREDENTIALS)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto server shared by the whole session (reset between tests by ``aws``)."""
    from moto.server import ThreadedMotoServer

    from local_stack.moto_speedups import cache_moto_module_list

    cache_moto_module_list()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
