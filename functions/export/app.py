"""Export function: writes exports (every row of a data type into one file) queued by the API.

Triggered by the export queue, one job per invocation. A job that fails is delivered again;
its last delivery ends the export `error` if it fails too.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.observability import logger, metrics, tracer
from ingestion.services.exports import ExportJob, run_export

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    run_export(ExportJob.from_message(record.body), delivery=int(record.attributes.approximate_receive_count))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
