"""Work handed to the functions that have the data plane: SQS queues (``PurgeQueue``, ``ExportQueue``).

An API function answers within API Gateway's 29 seconds and carries no pyarrow or pyiceberg;
purging a deleted collection's tables and writing an export may take minutes and need both. So
the API function records what is asked and queues one message naming it; the function the
queue triggers does the work, retried by the queue and ending in its dead-letter queue.
"""

from __future__ import annotations

import json
from typing import Any

from ingestion import aws
from ingestion.settings import get_settings


class JobQueue:
    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._url = queue_url

    def send(self, job: dict[str, str]) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(job, sort_keys=True))


def get_purge_queue() -> JobQueue:
    """Where deleted collections wait for their data to be purged (only the entry function sends)."""
    return JobQueue(aws.client("sqs"), _required(get_settings().purge_queue_url, "PURGE_QUEUE_URL"))


def get_export_queue() -> JobQueue:
    """Where exports wait to be written (only the entry function sends)."""
    return JobQueue(aws.client("sqs"), _required(get_settings().export_queue_url, "EXPORT_QUEUE_URL"))


def _required(value: str | None, variable: str) -> str:
    if not value:
        raise RuntimeError(f"{variable} is not set: only a function the template gives it may queue this job")
    return value
