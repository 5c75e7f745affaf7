"""Scheduled events: one timer per ``Type: Schedule`` or ``Type: ScheduleV2`` function event, as EventBridge.

In AWS, an EventBridge rule (``Schedule``) or EventBridge Scheduler (``ScheduleV2``) invokes the
function on its schedule expression; locally a ``ScheduleTimer`` thread does, once every period of
the event's ``rate(...)``, the first time one period after the stack started. LOCAL_SCHEDULE_SECONDS
replaces every schedule's period (a test need not wait five minutes), and is the only way a
``cron(...)`` or ``at(...)`` schedule runs locally. A disabled schedule (``Enabled: false``,
``State: DISABLED``) never runs.

The function gets the event's ``Input`` when it sets one, else the "Scheduled Event" an
EventBridge rule sends. As the asynchronous invocation it is, a failure is logged and the next
period runs as usual.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local_stack.functions import FunctionError, LambdaFunction
from local_stack.template import Template, TemplateError

log = logging.getLogger(__name__)

SCHEDULE_TYPES = ("Schedule", "ScheduleV2")
_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduleSource:
    """One ``Type: Schedule`` or ``Type: ScheduleV2`` event of a function."""

    function_id: str
    event_name: str
    expression: str
    # The ARN the event names as its resource: the rule's, or the schedule's.
    resource_arn: str
    enabled: bool = True
    input: str | None = None

    @property
    def rate_seconds(self) -> int | None:
        return rate_seconds(self.expression)


def rate_seconds(expression: str) -> int | None:
    """The period of a ``rate(<n> <unit>)`` expression in seconds; None for ``cron(...)`` and ``at(...)``."""
    expression = expression.strip()
    match = _RATE.fullmatch(expression)
    if match is None:
        if expression.startswith("rate("):
            raise TemplateError(f"{expression!r} is not a rate EventBridge takes: rate(<n> minutes|hours)")
        return None
    value, unit = int(match.group(1)), match.group(2).removesuffix("s")
    if value < 1:
        raise TemplateError(f"{expression!r}: a rate is at least 1 {unit}")
    return value * _UNIT_SECONDS[unit]


def schedule_sources(template: Template) -> list[ScheduleSource]:
    """The schedule events of every serverless function of the template."""
    context = template.context
    sources = []
    for function_id in template.resources_of_type("AWS::Serverless::Function"):
        for event_name, event in (template.raw_properties(function_id).get("Events") or {}).items():
            kind = event.get("Type")
            if kind not in SCHEDULE_TYPES:
                continue
            properties = template.resolve(event.get("Properties") or {})
            name = properties.get("Name") or f"{context.stack_name}-{function_id}{event_name}"
            if kind == "Schedule":
                expression = properties["Schedule"]
                enabled = str(properties.get("Enabled", True)).lower() != "false" and (
                    str(properties.get("State", "ENABLED")).upper() != "DISABLED"
                )
                arn = f"arn:{context.partition}:events:{context.region}:{context.account_id}:rule/{name}"
            else:
                expression = properties["ScheduleExpression"]
                enabled = str(properties.get("State", "ENABLED")).upper() != "DISABLED"
                group = properties.get("GroupName") or "default"
                arn = (
                    f"arn:{context.partition}:scheduler:{context.region}:{context.account_id}"
                    f":schedule/{group}/{name}"
                )
            rate_seconds(str(expression))  # an invalid rate is reported when the stack starts
            sources.append(
                ScheduleSource(
                    function_id=function_id,
                    event_name=event_name,
                    expression=str(expression),
                    resource_arn=arn,
                    enabled=enabled,
                    input=None if properties.get("Input") is None else str(properties["Input"]),
                )
            )
    return sources


def scheduled_event(source: ScheduleSource, now: datetime | None = None) -> Any:
    """What the function gets: the event's ``Input``, else the Scheduled Event of an EventBridge rule."""
    if source.input is not None:
        return json.loads(source.input)
    _, _, _, region, account, _ = source.resource_arn.split(":", 5)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [source.resource_arn],
        "detail": {},
    }


class ScheduleTimer:
    """Invokes one function once every ``period_seconds`` in a background thread until stopped."""

    def __init__(self, source: ScheduleSource, function: LambdaFunction, period_seconds: float) -> None:
        if period_seconds <= 0:
            raise ValueError(f"a schedule's period must be positive, not {period_seconds}")
        self.source = source
        self.function = function
        self.period_seconds = period_seconds
        self.invocations = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"schedule-{self.source.function_id}-{self.source.event_name}", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the timer to stop; an invocation already running ends first."""
        self._stopping.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop and wait for the timer (an invocation still running after ``timeout`` is left behind)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.function.timeout + 5 if timeout is None else timeout)
            self._thread = None

    def fire(self) -> Any:
        """Invoke the function once with the scheduled event; its result, or None if it failed."""
        self.invocations += 1
        started = time.monotonic()
        try:
            result = self.function.invoke(scheduled_event(self.source))
        except FunctionError as error:
            log.warning(
                "%s failed on its schedule %s (%s: %s); it runs again in %g s",
                self.source.function_id,
                self.source.expression,
                error.error_type,
                error.error_message,
                self.period_seconds,
            )
            return None
        log.info(
            "%s ran on its schedule %s in %.2f s",
            self.source.function_id,
            self.source.expression,
            time.monotonic() - started,
        )
        return result

    def _run(self) -> None:
        while not self._stopping.wait(self.period_seconds):
            self.fire()
