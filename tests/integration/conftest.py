from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from ingestion import aws
from tests.integration.harness import Stack


@pytest.fixture
def stack(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A fresh stack: moto emptied, resources created from template.yaml, the dev token seeded."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    stack = Stack(moto_endpoint)
    for name, value in stack.environment().items():
        monkeypatch.setenv(name, value)
    aws.reset()
    stack.seed_token()
    yield stack
    aws.reset()
