"""Cached boto3 resources. Nothing touches AWS at import time; tests hand in their own.

boto3 itself is imported by the first client made, not by this module: importing it costs a
few hundred milliseconds that an API function's cold start need not pay before it routes a
request (and a request that reads nothing from AWS, the OpenAPI document, never pays it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ingestion.settings import get_settings


@cache
def _config() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 5})


@cache
def client(service: str) -> Any:
    import boto3

    settings = get_settings()
    return boto3.client(
        service, region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=_config()
    )


@cache
def s3_presigner() -> Any:
    """An S3 client for presigned URLs: Signature Version 4 (the only one every region takes),
    on the bucket's regional host in AWS (the global one redirects for a new bucket), or on the
    local endpoint as it is, path-style."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    if settings.aws_endpoint_url:
        addressing: dict[str, str] = {"addressing_style": "path"}
    else:
        addressing = {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
    return boto3.client(
        "s3",
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=_config().merge(Config(signature_version="s3v4", s3=addressing)),
    )


@cache
def table(name: str) -> Any:
    import boto3

    settings = get_settings()
    dynamodb = boto3.resource(
        "dynamodb", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=_config()
    )
    return dynamodb.Table(name)


def reset() -> None:
    """Forget cached clients and settings (tests and the local stack change the environment)."""
    client.cache_clear()
    s3_presigner.cache_clear()
    table.cache_clear()
    get_settings.cache_clear()
