"""Per-tenant throttling over HTTP: ``python -m local_stack`` with LOCAL_THROTTLE, the project's
template (its API keys, usage plan and gateway responses) and the real authorizer, which names
each token's tenant API key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.integration.running_service import Service, running_service

OTHER_TOKEN = "other-tenant-token"
BURST = 3
# A collection id no one has: each request is authorized, counted, and answered 404.
UNKNOWN = "01jd3k7q9x0m5r2c8v4b6n1t3e"


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    # A token a minute after the burst: no request of the test gets one back.
    with running_service(
        LOCAL_THROTTLE=f"rate=0.016,burst={BURST}", DEV_TOKENS=f"{OTHER_TOKEN}=globex"
    ) as running:
        yield running


def get(service: Service, path: str, token: str | None = None) -> requests.Response:
    headers = service.headers if token is None else {"Authorization": f"Token {token}"}
    return requests.get(f"{service.url}{path}", headers=headers, timeout=30)


def test_a_tenant_over_its_rate_gets_429_with_retry_after_and_the_error_body(service: Service):
    answers = [get(service, f"/api/collection/{UNKNOWN}") for _ in range(BURST + 1)]

    assert [answer.status_code for answer in answers] == [404] * BURST + [429]
    refused = answers[-1]
    assert refused.headers["Retry-After"] == "1"
    body = refused.json()
    assert body["errors"] == []
    assert "rate limit" in body["message"]

    # Another tenant has a bucket of its own; the API's description is not counted at all.
    assert get(service, f"/api/collection/{UNKNOWN}", OTHER_TOKEN).status_code == 404
    assert get(service, "/api/openapi.json").status_code == 200
