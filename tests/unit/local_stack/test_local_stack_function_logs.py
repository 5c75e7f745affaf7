"""What functions run in the local stack's process log: each line names its own function, and
an invocation that publishes no metric says nothing about it."""

from __future__ import annotations

import json
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from local_stack.functions import LambdaFunction

# The shared layer's module, as ingestion.observability is: one Powertools logger and metrics for
# every function that imports it, and events for the test to interleave two invocations.
OBSERVABILITY = """
import io
import logging
import threading
import uuid

from aws_lambda_powertools import Logger, Metrics

# A service of its own each time: Powertools configures a service's logger once a process.
SERVICE = f"local-stack-log-test-{uuid.uuid4().hex}"
STREAM = io.StringIO()
logger = Logger(service=SERVICE, logger_handler=logging.StreamHandler(STREAM))
metrics = Metrics(namespace="LocalStackLogTest", service=SERVICE)
first_logged = threading.Event()
second_done = threading.Event()
"""
FIRST = """
from stub_observability import first_logged, logger, second_done


@logger.inject_lambda_context
def lambda_handler(event, context):
    logger.info("first starts")
    first_logged.set()
    second_done.wait(10)
    logger.info("first ends")
    return {}
"""
SECOND = """
from stub_observability import logger


@logger.inject_lambda_context
def lambda_handler(event, context):
    logger.info("second runs")
    return {}
"""
READ_ONLY = """
import warnings

from stub_observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event, context):
    if event.get("warn"):
        warnings.warn("a warning of the function's own", UserWarning, stacklevel=1)
    return {"statusCode": 200, "body": "{}"}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A layer holding ``stub_observability``, forgotten again after the test."""
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "stub_observability.py").write_text(OBSERVABILITY)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "stub_observability", raising=False)
    yield tmp_path
    sys.modules.pop("stub_observability", None)


def function(project: Path, logical_id: str, source: str) -> LambdaFunction:
    code = project / logical_id
    code.mkdir()
    (code / "app.py").write_text(source)
    return LambdaFunction(
        logical_id=f"LogTest{logical_id}",
        name=f"stack-{logical_id}Function",
        handler="app.lambda_handler",
        code_uri=code,
        layer_paths=[project / "layer"],
    )


def logged() -> list[dict[str, Any]]:
    """Each line the shared logger wrote."""
    return [json.loads(line) for line in sys.modules["stub_observability"].STREAM.getvalue().splitlines()]


def test_each_line_names_its_own_function_while_another_runs_in_the_process(project: Path) -> None:
    first = function(project, "First", FIRST)
    second = function(project, "Second", SECOND)
    first.load()
    shared = sys.modules["stub_observability"]
    runner = threading.Thread(target=first.invoke, args=({},))
    runner.start()
    assert shared.first_logged.wait(10)

    second.invoke({})  # while the first is still running, in another thread
    shared.second_done.set()
    runner.join(10)

    lines = {line["message"]: line for line in logged()}
    assert lines["first starts"]["function_name"] == "stack-FirstFunction"
    assert lines["second runs"]["function_name"] == "stack-SecondFunction"
    assert lines["first ends"]["function_name"] == "stack-FirstFunction"
    assert lines["first ends"]["function_arn"].endswith(":function:stack-FirstFunction")
    # Each function's first invocation in the process is its own cold start.
    assert lines["first ends"]["cold_start"] is True
    assert lines["second runs"]["cold_start"] is True


def test_a_later_invocation_is_warm(project: Path) -> None:
    second = function(project, "Second", SECOND)

    second.invoke({})
    second.invoke({})

    assert [line["cold_start"] for line in logged()] == [True, False]


def test_an_invocation_without_metrics_does_not_warn_about_it(project: Path) -> None:
    read_only = function(project, "ReadOnly", READ_ONLY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning, even one pytest's settings would hide

        read_only.invoke({})
        read_only.invoke({})
        read_only.invoke({"warn": True})

    assert [str(warning.message) for warning in caught] == ["a warning of the function's own"]
