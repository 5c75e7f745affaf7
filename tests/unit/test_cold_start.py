"""What an API function defers from its import, and the SnapStart hook that loads it before a snapshot."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from ingestion import aws
from ingestion.cold_start import load_before_snapshot, load_deferred
from ingestion.observability import DeferredTracer

TABLES = {
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


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in TABLES.items():
        monkeypatch.setenv(name, value)
    aws.reset()
    yield
    aws.reset()


@pytest.fixture
def snapshot_hooks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, tuple[Any, ...]]]:
    """Lambda's SnapStart hook library, as a SnapStart-capable runtime has it."""
    hooks: list[tuple[Any, tuple[Any, ...]]] = []
    library = types.ModuleType("snapshot_restore_py")
    library.register_before_snapshot = lambda hook, *args: hooks.append((hook, args))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", library)
    return hooks


def test_the_tracer_is_built_on_the_handlers_first_call_not_at_import():
    tracer = DeferredTracer()

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict, context: Any) -> str:
        return "answered"

    assert not tracer.built
    assert handler({}, None) == "answered"
    assert tracer.built


def test_without_snapstart_nothing_is_registered(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # not importable

    assert load_before_snapshot() is False


def test_with_snapstart_the_deferred_work_is_registered_for_before_the_snapshot(
    snapshot_hooks: list[tuple[Any, tuple[Any, ...]]],
):
    assert load_before_snapshot(aws_services=["dynamodb", "s3"]) is True

    assert snapshot_hooks == [(load_deferred, (None, ("dynamodb", "s3")))]


def test_the_hook_loads_the_tracer_and_the_clients(settings: None, monkeypatch: pytest.MonkeyPatch):
    tracer = DeferredTracer()
    monkeypatch.setattr("ingestion.cold_start.tracer", tracer)

    load_deferred(aws_services=["dynamodb", "s3"])

    assert tracer.built
    assert aws.table.cache_info().currsize == 4
    assert aws.client.cache_info().currsize == 1
    assert aws.s3_presigner.cache_info().currsize == 1


def test_the_hook_describes_every_route_of_the_app(settings: None):
    described = []

    class App:
        def get_openapi_schema(self) -> None:
            described.append(True)

    load_deferred(App(), aws_services=[])  # type: ignore[arg-type]

    assert described == [True]


def test_the_hook_refuses_a_service_it_does_not_know(settings: None):
    with pytest.raises(ValueError, match="sqs"):
        load_deferred(aws_services=["sqs"])
