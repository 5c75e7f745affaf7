"""SQS event sources: one poller per ``Type: SQS`` function event, as Lambda's event source mapping.

A poller long-polls its queue, hands the messages to the function in the event Lambda would
build, and deletes the messages the invocation succeeded on: all of them, or all but the
``batchItemFailures`` when the event declares ``ReportBatchItemFailures``. When the function
raises, nothing is deleted; the messages come back after the queue's visibility timeout and,
after ``maxReceiveCount`` receives, the local SQS moves them to the dead-letter queue.

As Lambda's pollers do, a poller runs up to ``concurrency`` invocations at once, each with a
batch of its own: one thread per concurrent invocation receives a batch, invokes the function
and deletes what succeeded, then receives the next.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local_stack.functions import FunctionError, LambdaFunction
from local_stack.template import Template

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SqsEventSource:
    """One ``Type: SQS`` event of a function."""

    function_id: str
    event_name: str
    queue_arn: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    enabled: bool = True

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[1]

    @property
    def region(self) -> str:
        return self.queue_arn.split(":")[3]


def sqs_event_sources(template: Template) -> list[SqsEventSource]:
    """The SQS event sources of every serverless function of the template."""
    sources = []
    for function_id in template.resources_of_type("AWS::Serverless::Function"):
        for event_name, event in (template.raw_properties(function_id).get("Events") or {}).items():
            if event.get("Type") != "SQS":
                continue
            properties = template.resolve(event.get("Properties") or {})
            sources.append(
                SqsEventSource(
                    function_id=function_id,
                    event_name=event_name,
                    queue_arn=str(properties["Queue"]),
                    batch_size=int(properties.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (properties.get("FunctionResponseTypes") or []),
                    enabled=str(properties.get("Enabled", True)).lower() != "false",
                )
            )
    return sources


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda passes a function for messages received from an SQS queue."""
    region = queue_arn.split(":")[3]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": {
                    name: _message_attribute(value)
                    for name, value in (message.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def failed_message_ids(response: Any, message_ids: list[str]) -> set[str]:
    """The messages a ReportBatchItemFailures response asks to keep.

    As Lambda does, an empty or absent list means all succeeded, and a response that names
    no valid message (no ``itemIdentifier``, an unknown one) fails the whole batch.
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return set(message_ids)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


class SqsPoller:
    """Polls one queue for one function in ``concurrency`` background threads until stopped."""

    def __init__(
        self,
        source: SqsEventSource,
        function: LambdaFunction,
        sqs_client: Any,
        *,
        wait_seconds: int = 2,
        concurrency: int = 1,
    ) -> None:
        self.source = source
        self.function = function
        self.sqs = sqs_client
        self.wait_seconds = wait_seconds
        self.concurrency = concurrency
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue_url: str | None = None

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            self._queue_url = self.sqs.get_queue_url(QueueName=self.source.queue_name)["QueueUrl"]
        return self._queue_url

    def start(self) -> None:
        for number in range(1, self.concurrency + 1):
            thread = threading.Thread(
                target=self._run,
                name=f"sqs-{self.source.function_id}-{self.source.event_name}-{number}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def request_stop(self) -> None:
        """Ask the poller to stop after its current receive or invocation."""
        self._stopping.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop and wait for the poller (an invocation still running after ``timeout`` is left behind)."""
        self._stopping.set()
        deadline = time.monotonic() + (timeout if timeout is not None else self.wait_seconds + 5)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as error:
                if self._stopping.is_set():
                    break
                log.warning(
                    "%s: polling %s failed: %s", self.source.function_id, self.source.queue_name, error
                )
                self._stopping.wait(1)

    def poll_once(self) -> int:
        """Receive one batch, invoke the function with it, delete what succeeded; returns its size."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages") or []
        if not messages:
            return 0
        event = sqs_event(messages, self.source.queue_arn)
        ids = [message["MessageId"] for message in messages]
        try:
            response = self.function.invoke(event)
        except FunctionError as error:
            log.warning(
                "%s failed on %d message(s) from %s (%s); they return after the visibility timeout",
                self.source.function_id,
                len(messages),
                self.source.queue_name,
                error.error_type,
            )
            return len(messages)
        failed = failed_message_ids(response, ids) if self.source.report_batch_item_failures else set()
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done)
                ],
            )
        log.info(
            "%s processed %d message(s) from %s: %d deleted, %d left for retry",
            self.source.function_id,
            len(messages),
            self.source.queue_name,
            len(done),
            len(failed),
        )
        return len(messages)
