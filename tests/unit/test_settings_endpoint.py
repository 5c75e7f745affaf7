"""The AWS endpoint: set only outside AWS, under either of its names; empty means AWS itself."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("environment", "endpoint"),
    [
        ({}, None),
        # Deployed: the template declares its own name for it, empty.
        ({"LOCAL_AWS_ENDPOINT_URL": ""}, None),
        # sam local invoke --env-vars events/local-env.json sets the declared variable.
        ({"LOCAL_AWS_ENDPOINT_URL": "http://host.docker.internal:5000"}, "http://host.docker.internal:5000"),
        # The local stack and the tests set AWS_ENDPOINT_URL, which wins over the empty declaration.
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "LOCAL_AWS_ENDPOINT_URL": ""},
            "http://127.0.0.1:5000",
        ),
        ({"AWS_ENDPOINT_URL": ""}, None),
    ],
)
def test_endpoint_from_the_environment(environment: dict[str, str], endpoint: str | None):
    assert make_settings(**environment).aws_endpoint_url == endpoint
