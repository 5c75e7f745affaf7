"""Reading S3 ObjectCreated notifications, plain or wrapped in an SQS message."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model

from ingestion.observability import logger
from ingestion.services.processing import UploadedObject


def is_sqs_event(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and records[0].get("eventSource") == "aws:sqs"


def uploaded_objects(notification: dict[str, Any] | str) -> list[UploadedObject]:
    """The files an S3 notification announces; none for S3's ``s3:TestEvent``."""
    body = json.loads(notification) if isinstance(notification, str) else notification
    if "Records" not in body:
        logger.info("notification without records ignored", extra={"event": body.get("Event")})
        return []
    event = parse(event=body, model=S3Model)
    return [
        UploadedObject(
            bucket=record.s3.bucket.name,
            # Keys arrive URL-encoded, spaces as '+'.
            key=unquote_plus(record.s3.object.key),
        )
        for record in event.Records
        if record.eventName.startswith("ObjectCreated")
    ]
