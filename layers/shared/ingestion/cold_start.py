"""What an API function leaves out of its import, and when that is loaded instead.

Importing a handler loads what routing a request needs, and no more: the X-Ray SDK behind the
tracer, boto3 and its clients, and each route's request validation (pydantic builds a model's
validator on first use) are loaded by the first request that uses them. Without SnapStart a
cold start thus answers sooner, and a request that needs none of them (the OpenAPI document)
never pays for them.

With SnapStart, Lambda imports the handler when it publishes a version, snapshots the process,
and every cold start resumes from the snapshot: what is loaded before the snapshot costs a
cold start nothing. So the API functions register :func:`load_deferred` to run just before it
(``load_before_snapshot``), and their first request after a restore finds everything loaded.
Only modules, models and clients are loaded there: nothing that must differ between execution
environments (no request ids, no random state). Clients made before the snapshot keep working
after a restore: a SnapStart function's credentials come from Lambda's container credentials
endpoint and are refreshed by the SDK.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ingestion import aws
from ingestion.observability import tracer
from ingestion.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

AWS_SERVICES = ("dynamodb", "s3")


def load_before_snapshot(
    app: APIGatewayRestResolver | None = None, *, aws_services: Iterable[str] = ("dynamodb",)
) -> bool:
    """Have Lambda run :func:`load_deferred` before it snapshots this function (SnapStart).

    Outside a SnapStart-capable Lambda runtime (tests, the local stack) there is no snapshot
    and nothing is registered; returns whether the hook was registered.
    """
    try:
        from snapshot_restore_py import register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(load_deferred, app, tuple(aws_services))
    return True


def load_deferred(
    app: APIGatewayRestResolver | None = None, aws_services: Iterable[str] = ("dynamodb",)
) -> None:
    """Load what importing the handler deferred: the tracer (the X-Ray SDK), the clients of
    ``aws_services`` (``dynamodb``: a table object for each of the service's tables; ``s3``: the
    S3 client and the URL signer), and the validation of every route of ``app``."""
    services = set(aws_services)
    unknown = services - set(AWS_SERVICES)
    if unknown:
        raise ValueError(f"unknown AWS services {sorted(unknown)}: choose among {AWS_SERVICES}")
    tracer.build()
    settings = get_settings()
    if "dynamodb" in services:
        for table in (
            settings.collections_table,
            settings.upload_requests_table,
            settings.data_types_table,
            settings.tokens_table,
        ):
            aws.table(table)
    if "s3" in services:
        aws.client("s3")
        aws.s3_presigner()
    if app is not None:
        # Describing the routes builds what validating their requests and responses needs:
        # each route's parameters, and the validators of the models they name.
        app.get_openapi_schema()
