"""SQS receives on moto: a message received by one poller is not received by another at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest

from local_stack.sqs_atomicity import serialize_sqs_receives

RECEIVERS = 4
# Between moto's check that a message is visible and its marking it received: wide enough that,
# without the patch, every waiting receiver sees the message before the first one marks it.
CHECK_TO_MARK_SECONDS = 0.2


@pytest.fixture(autouse=True)
def _moto_as_released(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from moto's own receive, whatever an earlier test patched."""
    from moto.sqs.models import SQSBackend

    current = SQSBackend.receive_message
    monkeypatch.setattr(SQSBackend, "receive_message", getattr(current, "__wrapped__", current))


@pytest.fixture
def slow_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto finds a visible message, then pauses before marking it received: a race made certain."""
    from moto.sqs.models import Message

    mark = Message.mark_received

    def mark_slowly(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(CHECK_TO_MARK_SECONDS)
        return mark(self, *args, **kwargs)

    monkeypatch.setattr(Message, "mark_received", mark_slowly)


def receivers_of_one_message(endpoint: str) -> int:
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"race-{time.monotonic_ns()}", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="one file")
    received: list[str] = []
    start = threading.Barrier(RECEIVERS)

    def receive() -> None:
        client = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        start.wait()
        answer = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        received.extend(message["Body"] for message in answer.get("Messages", []))

    threads = [threading.Thread(target=receive) for _ in range(RECEIVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(received)


@pytest.mark.usefixtures("slow_marks")
def test_without_the_patch_racing_receivers_get_one_message_each(moto_endpoint: str):
    assert receivers_of_one_message(moto_endpoint) > 1  # the race the patch exists for


@pytest.mark.usefixtures("slow_marks")
def test_with_the_patch_exactly_one_receiver_gets_the_message(moto_endpoint: str):
    assert serialize_sqs_receives()
    assert serialize_sqs_receives()  # a second call keeps the first patch

    assert receivers_of_one_message(moto_endpoint) == 1
