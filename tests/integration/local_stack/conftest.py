"""Fixtures of the local stack's integration tests.

moto keeps its state per process, so every moto server of this process (the session's
``moto_endpoint`` and any in-process ``LocalStack``) shares it: each test starts from a reset.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from local_stack_sample import write_sample_project

from local_stack.stack import LocalStack, LocalStackConfig


@pytest.fixture(autouse=True)
def _fresh_moto(moto_endpoint: str) -> None:
    address = urlsplit(moto_endpoint)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request("POST", "/moto-api/reset")
    assert connection.getresponse().status == 200
    connection.close()


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "output"
    directory.mkdir()
    return directory


@pytest.fixture
def sample_stack(tmp_path: Path, output_dir: Path) -> Iterator[LocalStack]:
    """The sample project running in-process on free ports, queues visible again after 1 s."""
    config = LocalStackConfig(
        template_path=write_sample_project(tmp_path / "project"),
        aws_port=0,
        api_port=0,
        visibility_timeout=1,
        poll_wait_seconds=1,
        parameter_overrides={"OutputDir": str(output_dir)},
    )
    with LocalStack(config) as stack:
        yield stack
