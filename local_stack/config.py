"""The local stack's settings, read from the environment as ``python -m local_stack`` reads them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LocalStackConfig:
    template_path: Path = PROJECT_ROOT / "template.yaml"
    aws_port: int = 5000
    api_port: int = 3000
    region: str = "us-east-1"
    # Replaces every queue's VisibilityTimeout: the template's 5400 s would make a retry take
    # 90 minutes. None keeps the template's values.
    visibility_timeout: int | None = 30
    dev_token: str = "dev-token"  # noqa: S105 (a local development token, by design)
    dev_tenant: str = "dev"
    tokens_table: str = "TokensTable"
    poll_wait_seconds: int = 2
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    # How many invocations of each SQS-triggered function run at once, each in its own process.
    concurrency: int = 4
    # Replaces the period of every scheduled function (rate(5 minutes) would make a test wait
    # five minutes); None keeps each schedule's rate, and leaves cron schedules unrun.
    schedule_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"LOCAL_CONCURRENCY must be at least 1, not {self.concurrency}")
        if self.schedule_seconds is not None and not self.schedule_seconds > 0:
            raise ValueError(f"LOCAL_SCHEDULE_SECONDS must be a positive number, not {self.schedule_seconds}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LocalStackConfig:
        """Settings from AWS_PORT, API_PORT, AWS_REGION, LOCAL_VISIBILITY_TIMEOUT, DEV_TOKEN, DEV_TENANT,
        LOCAL_CONCURRENCY, LOCAL_SCHEDULE_SECONDS (the period of every scheduled function, in
        seconds, instead of its rate), LOCAL_PARAMETER_OVERRIDES (the template's parameters, as
        ``sam deploy --parameter-overrides`` takes them: ``Name=Value Name2=Value2``) and
        LOCAL_STACK_TEMPLATE (another template than the project's, e.g. in tests)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "template_path": Path(env.get("LOCAL_STACK_TEMPLATE") or PROJECT_ROOT / "template.yaml"),
            "aws_port": int(env.get("AWS_PORT", 5000)),
            "api_port": int(env.get("API_PORT", 3000)),
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            "visibility_timeout": int(env.get("LOCAL_VISIBILITY_TIMEOUT", 30)),
            "dev_token": env.get("DEV_TOKEN", "dev-token"),
            "dev_tenant": env.get("DEV_TENANT", "dev"),
            "concurrency": _whole_number(env.get("LOCAL_CONCURRENCY", "4"), "LOCAL_CONCURRENCY"),
            "schedule_seconds": _seconds(env.get("LOCAL_SCHEDULE_SECONDS"), "LOCAL_SCHEDULE_SECONDS"),
            "parameter_overrides": _parameter_overrides(env.get("LOCAL_PARAMETER_OVERRIDES", "")),
        }
        values.update(overrides)
        return cls(**values)


def _parameter_overrides(text: str) -> dict[str, str]:
    """``Name=Value`` pairs separated by spaces, as SAM takes them."""
    overrides = {}
    for pair in text.split():
        name, equals, value = pair.partition("=")
        if not name or not equals:
            raise ValueError(f"LOCAL_PARAMETER_OVERRIDES takes Name=Value pairs, not {pair!r}")
        overrides[name] = value
    return overrides


def _whole_number(value: str, variable: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number, not {value!r}") from None


def _seconds(value: str | None, variable: str) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{variable} must be a number of seconds, not {value!r}") from None
