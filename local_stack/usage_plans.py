"""API Gateway's usage plans, locally: each API key throttled and counted on its own.

A usage plan gives every API key in it a token bucket: ``burst`` tokens, refilled at ``rate`` a
second, one taken by each request; a request that finds the bucket empty is answered 429
(the THROTTLED gateway response). Its quota counts each key's requests in a period (a UTC day,
week or month); past it, 429 (QUOTA_EXCEEDED) until the next period. A request over the quota
is not counted against it, nor one that was throttled.

Locally this is off unless ``LOCAL_THROTTLE`` asks for it (a fast test or a demo should not meet
production's limits by surprise): ``template`` applies the limits of the template's usage plan
for the API (its parameters can be overridden as usual, LOCAL_PARAMETER_OVERRIDES), and
``rate=5,burst=10`` (optionally ``,quota=1000``) sets them directly. Deliberate difference from
API Gateway: any key is accepted, each with a bucket of its own; there is no list of the plan's keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local_stack.template import Template, TemplateError

USAGE_PLAN_TYPES = ("AWS::ApiGateway::UsagePlan",)
QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")
THROTTLED = "THROTTLED"
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"


@dataclass(frozen=True)
class UsageLimits:
    """A usage plan's limits for each API key in it."""

    rate: float  # requests a second, steadily
    burst: int  # requests at once: the bucket's size
    quota: int | None = None  # requests a period
    quota_period: str = "DAY"

    def __post_init__(self) -> None:
        if not self.rate > 0 or self.burst < 1:
            raise ValueError(f"a usage plan needs a rate above 0 and a burst of 1 or more, not {self}")
        if self.quota is not None and self.quota < 1:
            raise ValueError(f"a usage plan's quota must be 1 or more, not {self.quota}")
        if self.quota_period not in QUOTA_PERIODS:
            periods = ", ".join(QUOTA_PERIODS)
            raise ValueError(f"a quota's period is one of {periods}, not {self.quota_period}")

    @classmethod
    def parse(cls, text: str) -> UsageLimits:
        """``rate=5,burst=10`` and optionally ``quota=1000`` (a day)."""
        values: dict[str, str] = {}
        for pair in text.split(","):
            name, equals, value = (part.strip() for part in pair.partition("="))
            if not equals or name not in ("rate", "burst", "quota") or name in values:
                raise ValueError(f"LOCAL_THROTTLE takes rate=N,burst=N[,quota=N] or 'template', not {text!r}")
            values[name] = value
        missing = {"rate", "burst"} - set(values)
        if missing:
            raise ValueError(f"LOCAL_THROTTLE needs {' and '.join(sorted(missing))}, not {text!r}")
        try:
            rate, burst = float(values["rate"]), int(values["burst"])
            quota = int(values["quota"]) if "quota" in values else None
        except ValueError:
            raise ValueError(f"LOCAL_THROTTLE takes numbers (rate=N,burst=N), not {text!r}") from None
        return cls(rate=rate, burst=burst, quota=quota)

    def describe(self) -> str:
        quota = f", {self.quota:,} a {self.quota_period.lower()}" if self.quota is not None else ""
        return f"{self.rate:g} requests a second, bursts of {self.burst}{quota}, per API key"


def usage_limits_from_template(template: Template, api_logical_id: str) -> UsageLimits | None:
    """The limits of the template's usage plan for the API ``api_logical_id``, if it has one."""
    for logical_id in template.resources_of_type(*USAGE_PLAN_TYPES):
        properties = template.raw_properties(logical_id)
        stages = properties.get("ApiStages") or []
        if not any(_refers_to(stage.get("ApiId"), api_logical_id) for stage in stages):
            continue
        throttle = template.resolve(properties.get("Throttle") or {})
        quota = template.resolve(properties.get("Quota") or {})
        if "RateLimit" not in throttle or "BurstLimit" not in throttle:
            raise TemplateError(f"{logical_id}: only a usage plan with a Throttle of its own is emulated")
        return UsageLimits(
            rate=float(throttle["RateLimit"]),
            burst=int(throttle["BurstLimit"]),
            quota=int(quota["Limit"]) if "Limit" in quota else None,
            quota_period=str(quota.get("Period", "DAY")),
        )
    return None


def local_usage_limits(setting: str | None, template: Template, api_logical_id: str) -> UsageLimits | None:
    """The limits LOCAL_THROTTLE asks for: none (unset, empty or ``off``), the template's usage
    plan (``template``) or its own (``rate=5,burst=10``)."""
    if setting is None or setting.strip().lower() in ("", "off"):
        return None
    if setting.strip().lower() == "template":
        limits = usage_limits_from_template(template, api_logical_id)
        if limits is None:
            raise TemplateError(f"LOCAL_THROTTLE=template: no usage plan covers {api_logical_id}")
        return limits
    return UsageLimits.parse(setting)


class UsagePlanThrottle:
    """Admits or refuses each request of an API key, as a usage plan with ``limits`` does."""

    def __init__(
        self,
        limits: UsageLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._today = today
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._counts: dict[str, tuple[str, int]] = {}  # key -> (period, requests admitted in it)

    def admit(self, api_key: str) -> str | None:
        """None if the request may go on; else the gateway response that refuses it
        (``QUOTA_EXCEEDED`` or ``THROTTLED``)."""
        with self._lock:
            period = self._period()
            counted_period, count = self._counts.get(api_key, (period, 0))
            if counted_period != period:
                count = 0
            if self.limits.quota is not None and count >= self.limits.quota:
                return QUOTA_EXCEEDED
            now = self._clock()
            tokens, counted = self._buckets.get(api_key, (float(self.limits.burst), now))
            tokens = min(float(self.limits.burst), tokens + (now - counted) * self.limits.rate)
            if tokens < 1:
                self._buckets[api_key] = (tokens, now)
                return THROTTLED
            self._buckets[api_key] = (tokens - 1, now)
            self._counts[api_key] = (period, count + 1)
            return None

    def _period(self) -> str:
        today = self._today().astimezone(UTC)
        if self.limits.quota_period == "WEEK":
            year, week, _ = today.isocalendar()
            return f"{year}-W{week}"
        if self.limits.quota_period == "MONTH":
            return today.strftime("%Y-%m")
        return today.strftime("%Y-%m-%d")


def _refers_to(value: Any, logical_id: str) -> bool:
    return isinstance(value, dict) and value.get("Ref") == logical_id
