"""Scheduled events: which function events are schedules, their period, the event, the timer."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_stack.functions import FunctionError
from local_stack.schedules import (
    ScheduleSource,
    ScheduleTimer,
    rate_seconds,
    schedule_sources,
    scheduled_event,
)
from local_stack.stack_context import StackContext
from local_stack.template import Template, TemplateError

SOURCE = ScheduleSource(
    function_id="SweepFunction",
    event_name="Every5",
    expression="rate(5 minutes)",
    resource_arn="arn:aws:events:eu-west-1:123456789012:rule/ingestion-local-SweepFunctionEvery5",
)


def template_with_events(events: dict[str, Any]) -> Template:
    document = {
        "Resources": {
            "SweepFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/sweep/",
                    "Handler": "app.lambda_handler",
                    "Events": events,
                },
            }
        }
    }
    return Template(document, root=Path("."), context=StackContext(region="eu-west-1"))


class RecordingFunction:
    """A function that records its events and fails when told to."""

    timeout = 3

    def __init__(self, failure: FunctionError | None = None) -> None:
        self.events: list[Any] = []
        self.third_call = threading.Event()
        self.failure = failure
        self.lock = threading.Lock()

    def invoke(self, event: Any) -> Any:
        with self.lock:
            self.events.append(event)
            if len(self.events) == 3:
                self.third_call.set()
        if self.failure is not None:
            raise self.failure
        return {"done": len(self.events)}


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_a_rate_is_its_period_in_seconds(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize("expression", ["cron(0 12 * * ? *)", "at(2026-11-28T12:00:00)"])
def test_cron_and_one_time_schedules_have_no_period(expression: str) -> None:
    assert rate_seconds(expression) is None


@pytest.mark.parametrize("expression", ["rate(0 minutes)", "rate(5 min)", "rate(five minutes)"])
def test_a_rate_eventbridge_would_refuse_is_refused(expression: str) -> None:
    with pytest.raises(TemplateError, match="rate"):
        rate_seconds(expression)


def test_schedule_and_schedule_v2_events_are_schedules_and_others_are_not() -> None:
    template = template_with_events(
        {
            "Every5": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)"}},
            "Nightly": {
                "Type": "ScheduleV2",
                "Properties": {"ScheduleExpression": "cron(0 2 * * ? *)", "Input": '{"full": true}'},
            },
            "Queue": {"Type": "SQS", "Properties": {"Queue": "arn:aws:sqs:eu-west-1:123456789012:q"}},
        }
    )

    every5, nightly = schedule_sources(template)

    assert every5 == SOURCE
    assert (nightly.expression, nightly.rate_seconds, nightly.input) == (
        "cron(0 2 * * ? *)",
        None,
        '{"full": true}',
    )
    assert nightly.resource_arn == (
        "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/ingestion-local-SweepFunctionNightly"
    )


@pytest.mark.parametrize(
    "event",
    [
        {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)", "Enabled": False}},
        {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)", "State": "DISABLED"}},
        {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 minute)", "State": "DISABLED"}},
    ],
)
def test_a_disabled_schedule_is_known_as_disabled(event: dict[str, Any]) -> None:
    (source,) = schedule_sources(template_with_events({"Off": event}))

    assert not source.enabled


def test_the_event_is_the_scheduled_event_of_an_eventbridge_rule() -> None:
    event = scheduled_event(SOURCE, now=datetime(2026, 11, 28, 12, 5, tzinfo=UTC))

    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-28T12:05:00Z",
        "region": "eu-west-1",
        "resources": [SOURCE.resource_arn],
        "detail": {},
    }


def test_the_events_input_replaces_the_scheduled_event() -> None:
    source = ScheduleSource(**{**SOURCE.__dict__, "input": json.dumps({"dryRun": True})})

    assert scheduled_event(source) == {"dryRun": True}


def test_a_timer_invokes_its_function_with_the_scheduled_event() -> None:
    function = RecordingFunction()
    timer = ScheduleTimer(SOURCE, function, period_seconds=300)  # type: ignore[arg-type]

    assert timer.fire() == {"done": 1}

    assert function.events[0]["resources"] == [SOURCE.resource_arn]


def test_a_failed_invocation_is_logged_and_the_timer_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    function = RecordingFunction(failure=FunctionError("sweep", "RuntimeError", "table gone"))
    timer = ScheduleTimer(SOURCE, function, period_seconds=300)  # type: ignore[arg-type]

    assert timer.fire() is None
    assert timer.fire() is None

    assert len(function.events) == 2
    assert "SweepFunction failed on its schedule rate(5 minutes) (RuntimeError: table gone)" in caplog.text


def test_a_started_timer_invokes_once_a_period_until_stopped() -> None:
    function = RecordingFunction()
    timer = ScheduleTimer(SOURCE, function, period_seconds=0.01)  # type: ignore[arg-type]

    timer.start()
    assert function.third_call.wait(timeout=10)
    timer.stop()
    invoked = len(function.events)

    assert not any(thread.name.startswith("schedule-SweepFunction") for thread in threading.enumerate())
    assert len(function.events) == invoked


def test_a_period_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        ScheduleTimer(SOURCE, RecordingFunction(), period_seconds=0)  # type: ignore[arg-type]
