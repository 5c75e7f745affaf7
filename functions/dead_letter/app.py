"""Dead-letter function: no upload request stays queued or in_progress forever.

Consumes the ingest queue's dead-letter queue: each message is an S3 notification the
validator failed on ``maxReceiveCount`` times. Its upload request is marked ``error`` with a
message naming the kept file; the file stays in the bucket.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.notifications import uploaded_objects
from ingestion.observability import logger, metrics
from ingestion.services.processing import fail_uploaded_file

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    attempts = record.attributes.approximate_receive_count
    for uploaded in uploaded_objects(record.body):
        fail_uploaded_file(
            uploaded, reason=f"processing failed on every delivery of its notification ({attempts})"
        )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
