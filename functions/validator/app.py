"""Validator function: validates uploaded files and merges them into their collections.

Triggered by the ingest queue (S3 notifications wrapped in SQS messages); a plain S3 event
works too. A record that fails is reported back to SQS alone, to be delivered again, and
after the queue's maxReceiveCount it moves to the dead-letter queue.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.notifications import is_sqs_event, uploaded_objects
from ingestion.observability import logger, metrics, tracer
from ingestion.services.processing import process_uploaded_file

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    for uploaded in uploaded_objects(record.body):
        process_uploaded_file(uploaded)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if is_sqs_event(event):
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    for uploaded in uploaded_objects(event):
        process_uploaded_file(uploaded)
    return {"batchItemFailures": []}
