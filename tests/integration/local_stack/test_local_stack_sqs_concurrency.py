"""SQS-triggered functions run as in Lambda: several invocations at once, each in a worker process."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from local_stack_sample import wait_for, write_sample_project

from local_stack.banner import banner
from local_stack.functions import FunctionError
from local_stack.stack import LocalStack, LocalStackConfig

BUCKET = "sample-123456789012"

StackFactory = Callable[..., LocalStack]


@pytest.fixture
def start_stack(tmp_path: Path, output_dir: Path) -> Iterator[StackFactory]:
    """Starts the sample project with the given concurrency and template parameters."""
    stacks: list[LocalStack] = []

    def start(concurrency: int, visibility_timeout: int = 1, **parameters: str) -> LocalStack:
        config = LocalStackConfig(
            template_path=write_sample_project(tmp_path / "project"),
            aws_port=0,
            api_port=0,
            visibility_timeout=visibility_timeout,
            poll_wait_seconds=1,
            concurrency=concurrency,
            parameter_overrides={"OutputDir": str(output_dir), **parameters},
        )
        stack = LocalStack(config)
        stacks.append(stack)
        stack.start()
        return stack

    yield start
    for stack in stacks:
        stack.stop()


def drop(stack: LocalStack, *keys: str) -> None:
    s3 = boto3.client("s3", endpoint_url=stack.aws_endpoint, region_name="us-east-1")
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=f"incoming/{key}", Body=b"x")


def recorded(output_dir: Path, prefix: str, count: int) -> list[dict[str, Any]]:
    """The ``count`` records a function wrote with this prefix, once they are all there."""
    wait_for(lambda: len(list(output_dir.glob(f"{prefix}-*.json"))) >= count)
    return [json.loads(path.read_text()) for path in sorted(output_dir.glob(f"{prefix}-*.json"))]


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def sqs_event_for(key: str) -> dict[str, Any]:
    """An SQS event of one S3 notification, as the worker's poller would build it."""
    body = {"Records": [{"s3": {"bucket": {"name": BUCKET}, "object": {"key": f"incoming/{key}"}}}]}
    return {
        "Records": [
            {
                "messageId": f"direct-{key}",
                "receiptHandle": "handle",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingestion-local-IngestQueue",
                "awsRegion": "us-east-1",
            }
        ]
    }


def test_files_dropped_at_once_are_processed_by_overlapping_invocations_in_separate_processes(
    start_stack: StackFactory, output_dir: Path
) -> None:
    # Given a stack running two invocations of a function at once. (Its workers may take more
    # than a second to start on a loaded machine: a file delivered again meanwhile would take
    # the second worker and meet its own first delivery, so the messages stay invisible longer.)
    stack = start_stack(concurrency=2, visibility_timeout=10)

    # When two files arrive whose invocations each wait until the other one runs too
    drop(stack, "meet-1.csv", "meet-2.csv")

    # Then they ran at the same time, each in a worker process of its own.
    timings = recorded(output_dir, "timing", 2)
    met = [
        (first, second)
        for first, second in itertools.combinations(timings, 2)
        if first["key"] != second["key"]
        and max(first["start"], second["start"]) < min(first["end"], second["end"])
        and len({first["pid"], second["pid"], os.getpid()}) == 3
    ]
    assert met, timings


def test_with_a_concurrency_of_one_invocations_never_overlap(
    start_stack: StackFactory, output_dir: Path
) -> None:
    # Given a stack running one invocation of a function at a time
    stack = start_stack(concurrency=1)

    # When three files arrive at once
    drop(stack, "slow-1.csv", "slow-2.csv", "slow-3.csv")

    # Then each invocation started after the previous one ended, all in one warm worker
    timings = sorted(recorded(output_dir, "timing", 3), key=lambda timing: timing["start"])
    assert all(earlier["end"] <= later["start"] for earlier, later in itertools.pairwise(timings))
    assert len({timing["pid"] for timing in timings}) == 1


def test_a_worker_that_exits_fails_its_invocation_and_the_message_is_retried_then_dead_lettered(
    start_stack: StackFactory, output_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stack = start_stack(concurrency=2)

    drop(stack, "exit.csv")

    [dead] = recorded(output_dir, "dead", 1)
    assert "exit.csv" in dead["body"]
    attempts = [r for r in recorded(output_dir, "worker", 2) if "exit.csv" in r["body"]]
    assert [attempt["attributes"]["ApproximateReceiveCount"] for attempt in attempts] == ["1", "2"]
    assert "Runtime.ExitError" in caplog.text
    assert "exit status 3" in caplog.text


def test_the_next_invocation_after_a_worker_exited_gets_a_fresh_worker(
    start_stack: StackFactory, output_dir: Path
) -> None:
    stack = start_stack(concurrency=1)
    worker = stack.functions["WorkerFunction"]
    with pytest.raises(FunctionError) as exited:
        worker.invoke(sqs_event_for("exit.csv"))

    worker.invoke(sqs_event_for("slow.csv"))

    assert exited.value.error_type == "Runtime.ExitError"
    [timing] = recorded(output_dir, "timing", 1)
    assert timing["key"] == "incoming/slow.csv"


def test_an_invocation_past_its_timeout_is_killed_and_reported_as_timed_out(
    start_stack: StackFactory, output_dir: Path
) -> None:
    stack = start_stack(concurrency=1, WorkerTimeout="1")

    with pytest.raises(FunctionError) as timed_out:
        stack.functions["WorkerFunction"].invoke(sqs_event_for("forever.csv"))

    assert timed_out.value.error_type == "Sandbox.Timedout"
    assert timed_out.value.error_message == "Task timed out after 1.00 seconds"
    [forever] = recorded(output_dir, "forever", 1)
    assert not is_running(forever["pid"])


def test_stop_leaves_no_worker_process_alive(start_stack: StackFactory, output_dir: Path) -> None:
    # Given workers that have run, and one still running
    stack = start_stack(concurrency=3)
    drop(stack, "meet-1.csv", "meet-2.csv", "forever.csv")
    pids = {timing["pid"] for timing in recorded(output_dir, "timing", 2)}
    pids |= {forever["pid"] for forever in recorded(output_dir, "forever", 1)}
    assert all(is_running(pid) for pid in pids)

    # When the stack stops
    stack.stop()

    # Then none of them is left
    assert [pid for pid in pids if is_running(pid)] == []


def test_the_banner_says_how_many_invocations_run_at_once(start_stack: StackFactory) -> None:
    stack = start_stack(concurrency=3)

    assert "up to 3 at once in worker processes: LOCAL_CONCURRENCY" in banner(stack)


def test_api_functions_still_run_in_the_stacks_own_process(start_stack: StackFactory) -> None:
    stack = start_stack(concurrency=2)

    assert stack.functions["ApiFunction"].workers is None
    assert stack.functions["WorkerFunction"].workers is not None
