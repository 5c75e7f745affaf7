"""Validator function: validates uploaded files and merges them into their collections.

Triggered by the ingest queue (S3 notifications wrapped in SQS messages, a batch at a time); a
plain S3 event works too. The files of a batch are processed together, so that the small files
of one table are merged in one commit (:mod:`ingestion.services.processing`): that is why the
batch is handled here as a whole rather than record by record. A message whose file failed is
reported back to SQS alone (``batchItemFailures``), to be delivered again; after the queue's
maxReceiveCount it moves to the dead-letter queue.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.notifications import is_sqs_event, uploaded_objects
from ingestion.observability import logger, metrics, tracer
from ingestion.services.processing import UploadedObject, process_uploaded_files

# A file is started only while at least this share of the invocation's time is left: the
# others come back later rather than be cut off by the timeout.
START_WHILE_TIME_LEFT = 0.5


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    time_at_start = context.get_remaining_time_in_millis()

    def may_start() -> bool:
        return context.get_remaining_time_in_millis() >= time_at_start * START_WHILE_TIME_LEFT

    if not is_sqs_event(event):
        for result in process_uploaded_files(uploaded_objects(event), may_start=may_start):
            if isinstance(result, Exception):
                raise result
        return {"batchItemFailures": []}
    failed: list[str] = []
    files: list[UploadedObject] = []
    messages: list[str] = []  # the message each file came in
    for record in SQSEvent(event).records:
        try:
            announced = uploaded_objects(record.body)
        except Exception:
            logger.exception("unreadable notification", extra={"message_id": record.message_id})
            failed.append(record.message_id)
            continue
        files += announced
        messages += [record.message_id] * len(announced)
    results = process_uploaded_files(files, may_start=may_start)
    failed += [
        message for message, result in zip(messages, results, strict=True) if isinstance(result, Exception)
    ]
    return {"batchItemFailures": [{"itemIdentifier": message} for message in dict.fromkeys(failed)]}
