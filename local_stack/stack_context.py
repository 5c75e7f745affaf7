"""The local stack's fixed identity: what CloudFormation would supply when it deploys.

A deployed stack gets its account, region, stack name and id, and its API's id from AWS;
locally they are fixed values, so that the names the template derives from them (buckets,
the Glue database, queue URLs, ARNs) are the same on every run and match the sample events.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "123456789012"
STACK_NAME = "ingestion-local"
# The template derives bucket and Glue database names from the first dash-separated segment of
# the stack id's UUID. "local" makes those names readable (ingestion-data-123456789012-local,
# ingestion_local) and matches the sample events under events/.
STACK_UUID = "local-0000-4000-8000-000000000000"
# API Gateway ids are ten lower-case letters and digits.
API_ID = "local00api"


@dataclass(frozen=True)
class StackContext:
    """The values CloudFormation would supply: pseudo parameters, parameter values, endpoint."""

    region: str = "us-east-1"
    account_id: str = ACCOUNT_ID
    stack_name: str = STACK_NAME
    stack_uuid: str = STACK_UUID
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    # Where the local AWS services listen: queue URLs point there.
    endpoint_url: str = "http://127.0.0.1:5000"
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    api_id: str = API_ID

    @property
    def stack_id(self) -> str:
        return (
            f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}"
            f":stack/{self.stack_name}/{self.stack_uuid}"
        )

    @classmethod
    def from_environment(cls, endpoint_url: str, **overrides: Any) -> StackContext:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return cls(region=overrides.pop("region", region), endpoint_url=endpoint_url, **overrides)
