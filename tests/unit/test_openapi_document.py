"""The OpenAPI document is what the routes generate, and names every route the template deploys."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from local_stack.stack_context import StackContext
from local_stack.template import Template

ROOT = Path(__file__).resolve().parents[2]
# Routes that describe the API itself rather than being part of it.
META_ROUTES = {("get", "/api/openapi.json"), ("get", "/api/docs")}


def load_generator():
    spec = importlib.util.spec_from_file_location("openapi_generator", ROOT / "scripts" / "openapi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deployed_routes() -> set[tuple[str, str]]:
    template = Template.load(ROOT / "template.yaml", StackContext())
    routes = set()
    for function in template.resources_of_type("AWS::Serverless::Function"):
        for event in (template.raw_properties(function).get("Events") or {}).values():
            if event.get("Type") == "Api":
                routes.add((event["Properties"]["Method"].lower(), event["Properties"]["Path"]))
    return routes


def test_the_committed_document_is_what_the_routes_generate():
    generator = load_generator()

    assert generator.DOCUMENT.read_text(encoding="utf-8") == generator.generate(), "run make openapi"


def test_the_document_names_exactly_the_routes_the_template_deploys():
    document = json.loads((ROOT / "layers" / "shared" / "ingestion" / "openapi.json").read_text())
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}

    assert documented == deployed_routes() - META_ROUTES


def test_every_error_answer_is_documented_with_the_error_body():
    document = json.loads((ROOT / "layers" / "shared" / "ingestion" / "openapi.json").read_text())

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {status: answer for status, answer in operation["responses"].items() if status >= "400"}
            assert {"401", "422"} <= set(errors), (method, path)
            for status, answer in errors.items():
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)


def test_every_post_and_put_documents_the_idempotency_key_and_its_conflict():
    document = json.loads((ROOT / "layers" / "shared" / "ingestion" / "openapi.json").read_text())

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put"):
                continue
            headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
            assert [header["name"].lower() for header in headers] == ["idempotency-key"], (method, path)
            assert "409" in operation["responses"], (method, path)


def test_answers_without_a_body_document_none():
    document = json.loads((ROOT / "layers" / "shared" / "ingestion" / "openapi.json").read_text())

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in {"204", "303"} & set(operation["responses"]):
                assert operation["responses"][status]["content"] == {}, (method, path, status)
