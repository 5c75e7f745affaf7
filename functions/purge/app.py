"""Purge function: removes everything a deleted collection held (tables, files, records).

Triggered by the purge queue, which ``DELETE /api/collection/{collectionId}`` sends to. Each
step is safe to run again, so a failed purge is finished by the next delivery.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.observability import logger, metrics, tracer
from ingestion.services.purge import purge_collection

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    purge_collection(json.loads(record.body)["collectionId"])


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
