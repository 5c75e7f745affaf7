"""Cached boto3 resources. Nothing touches AWS at import time; tests hand in their own."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from ingestion.settings import get_settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@cache
def client(service: str) -> Any:
    settings = get_settings()
    return boto3.client(
        service, region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=_CONFIG
    )


@cache
def table(name: str) -> Any:
    settings = get_settings()
    dynamodb = boto3.resource(
        "dynamodb", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=_CONFIG
    )
    return dynamodb.Table(name)


def reset() -> None:
    """Forget cached clients and settings (tests and the local stack change the environment)."""
    client.cache_clear()
    table.cache_clear()
    get_settings.cache_clear()
