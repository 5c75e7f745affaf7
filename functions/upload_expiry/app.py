"""Upload-expiry function: no upload request waits forever for a file that never comes.

Runs on a schedule. Every request given an upload URL whose file did not arrive before the
URL expired (plus a grace period for a PUT still arriving) is ended ``error``, saying to ask for
a new URL. A run that fails leaves nothing the next run does not finish.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.observability import logger, metrics, tracer
from ingestion.services.upload_urls import expire_upload_urls


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    ended = expire_upload_urls()
    return {"expired": [request.id for request in ended]}
