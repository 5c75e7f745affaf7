"""How the API words a refusal, and that its own defects are never passed off as the client's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from pydantic import BaseModel

from ingestion.http import api_resolver
from ingestion.identifiers import CollectionId, DataTypeName
from local_stack.functions import FakeLambdaContext

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = "01jd3k7q9x0m5r2c8v4b6n1t3e"


class Answer(BaseModel):
    count: int


app = api_resolver()


@app.get("/api/collection/<collectionId>/data/<dataType>")
def typed_route(
    collection_id: Annotated[CollectionId, PathParam(alias="collectionId")],
    data_type: Annotated[DataTypeName, PathParam(alias="dataType")],
) -> dict:
    return {"collectionId": collection_id, "dataType": data_type}


@app.get("/api/broken")
def broken_route() -> Answer:
    return {"count": "not a number"}  # type: ignore[return-value]  # the defect under test


def call(path: str, resource: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "get_collection.json").read_text())
    event |= {"path": path, "resource": resource, "pathParameters": parameters}
    return app.resolve(event, FakeLambdaContext())


def test_a_malformed_collection_id_is_422_saying_in_words_what_an_id_is():
    answer = call(
        "/api/collection/not-an-id/data/deals",
        "/api/collection/{collectionId}/data/{dataType}",
        {"collectionId": "not-an-id", "dataType": "deals"},
    )

    assert answer["statusCode"] == 422
    (error,) = json.loads(answer["body"])["errors"]
    assert error["field"] == "collectionId"
    assert "26 lowercase letters and digits" in error["message"]
    assert "[" not in error["message"]  # no regex


def test_a_malformed_data_type_is_422_naming_it_in_words():
    answer = call(
        f"/api/collection/{COLLECTION}/data/Deals",
        "/api/collection/{collectionId}/data/{dataType}",
        {"collectionId": COLLECTION, "dataType": "Deals"},
    )

    (error,) = json.loads(answer["body"])["errors"]
    assert error["field"] == "dataType"
    assert error["message"] == (
        "dataType must be a data type name: a lowercase letter, then at most 62 lowercase letters, digits "
        "or underscores (e.g. deals)"
    )


def test_an_answer_that_breaks_its_own_model_is_a_500_not_the_clients_422():
    answer = call("/api/broken", "/api/broken")

    assert answer["statusCode"] == 500
    assert json.loads(answer["body"])["message"].startswith("the service failed to answer")


def test_an_error_body_always_carries_an_errors_list():
    answer = call(
        f"/api/collection/{COLLECTION}/data/deals/x", "/api/collection/{collectionId}/data/{dataType}/x"
    )

    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["errors"] == []


def gateway_responses() -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader
    return template["Resources"]["IngestionApi"]["Properties"]["GatewayResponses"]


@pytest.mark.parametrize("response_type", sorted(gateway_responses()))
def test_every_answer_api_gateway_gives_itself_has_the_error_body(response_type: str):
    template = gateway_responses()[response_type]["ResponseTemplates"]["application/json"]

    body = json.loads(template.replace("$context.error.messageString", '"a message"'))

    assert set(body) == {"message", "errors"}
    assert body["errors"] == []


def test_a_route_or_method_api_gateway_does_not_have_is_404():
    assert gateway_responses()["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == 404
