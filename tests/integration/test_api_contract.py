"""The running service against its own OpenAPI document, with generated requests (schemathesis).

For every documented operation, Hypothesis generates requests from the document's schemas and
sends them to ``python -m local_stack`` with a valid token: no answer may be a server error,
carry a status the document does not list for that operation, or have a body that does not
match the schema documented for its status. Examples are bounded so that this stays a few
minutes at most.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.running_service import Service, running_service

DOCUMENT = Path(__file__).resolve().parents[2] / "layers" / "shared" / "ingestion" / "openapi.json"
EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_path(DOCUMENT)


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with running_service() as running:
        yield running


@pytest.fixture(scope="module")
def collection_id(service: Service) -> str:
    """A collection of the token's tenant, so that generated requests also reach past the 404s."""
    return service.create_collection("contract")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_answer_is_documented_and_none_is_a_server_error(case, service: Service, collection_id: str):
    parameters = case.path_parameters or {}
    if (
        "collectionId" in parameters
        and "dataType" in parameters
        and zlib.crc32(repr(parameters).encode()) % 2
    ):
        # Half the examples aim at a real collection and the built-in data type.
        case.path_parameters = parameters | {"collectionId": collection_id, "dataType": "deals"}

    case.call_and_validate(base_url=service.url, headers=service.headers, checks=CHECKS, timeout=60)
