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
    # More development tokens, each acting for its own tenant (DEV_TOKENS="t1=acme,t2=globex"),
    # so that tenant isolation can be tried locally.
    dev_tokens: dict[str, str] = field(default_factory=dict)
    tokens_table: str = "TokensTable"
    poll_wait_seconds: int = 2
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    # How many invocations of each SQS-triggered function run at once, each in its own process.
    concurrency: int = 4
    # Replaces the period of every scheduled function (rate(5 minutes) would make a test wait
    # five minutes); None keeps each schedule's rate, and leaves cron schedules unrun.
    schedule_seconds: float | None = None
    # LOCAL_THROTTLE: each API key throttled as the API's usage plan does ("template", or
    # "rate=5,burst=10[,quota=1000]"); None (the default) throttles nothing. See local_stack.usage_plans.
    throttle: str | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"LOCAL_CONCURRENCY must be at least 1, not {self.concurrency}")
        if self.schedule_seconds is not None and not self.schedule_seconds > 0:
            raise ValueError(f"LOCAL_SCHEDULE_SECONDS must be a positive number, not {self.schedule_seconds}")

    @property
    def tokens(self) -> dict[str, str]:
        """Every development token and the tenant it acts for (DEV_TOKEN first)."""
        return {self.dev_token: self.dev_tenant} | self.dev_tokens

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LocalStackConfig:
        """Settings from AWS_PORT, API_PORT, AWS_REGION, LOCAL_VISIBILITY_TIMEOUT, DEV_TOKEN, DEV_TENANT,
        DEV_TOKENS (more tokens, as ``token=tenant`` pairs separated by commas), LOCAL_CONCURRENCY,
        LOCAL_SCHEDULE_SECONDS (the period of every scheduled function, in seconds, instead of its
        rate), LOCAL_PARAMETER_OVERRIDES (the template's parameters, as ``sam deploy
        --parameter-overrides`` takes them: ``Name=Value Name2=Value2``), LOCAL_THROTTLE (each API
        key throttled as a usage plan does: ``template`` or ``rate=5,burst=10``) and LOCAL_STACK_TEMPLATE
        (another template than the project's, e.g. in tests)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "template_path": Path(env.get("LOCAL_STACK_TEMPLATE") or PROJECT_ROOT / "template.yaml"),
            "aws_port": int(env.get("AWS_PORT", 5000)),
            "api_port": int(env.get("API_PORT", 3000)),
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            "visibility_timeout": int(env.get("LOCAL_VISIBILITY_TIMEOUT", 30)),
            "dev_token": env.get("DEV_TOKEN", "dev-token"),
            "dev_tenant": env.get("DEV_TENANT", "dev"),
            "dev_tokens": _dev_tokens(env.get("DEV_TOKENS", "")),
            "concurrency": _whole_number(env.get("LOCAL_CONCURRENCY", "4"), "LOCAL_CONCURRENCY"),
            "schedule_seconds": _seconds(env.get("LOCAL_SCHEDULE_SECONDS"), "LOCAL_SCHEDULE_SECONDS"),
            "parameter_overrides": _parameter_overrides(env.get("LOCAL_PARAMETER_OVERRIDES", "")),
            "throttle": env.get("LOCAL_THROTTLE") or None,
        }
        values.update(overrides)
        return cls(**values)


def _dev_tokens(text: str) -> dict[str, str]:
    """``token=tenant`` pairs separated by commas."""
    tokens = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        token, equals, tenant = (part.strip() for part in pair.partition("="))
        if not token or not equals or not tenant or " " in token:
            raise ValueError(f"DEV_TOKENS takes token=tenant pairs separated by commas, not {pair.strip()!r}")
        tokens[token] = tenant
    return tokens


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
