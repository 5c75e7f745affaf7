"""Scheduled functions in the running stack: invoked on the local period, named in the banner, stopped."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_stack_sample import wait_for, write_sample_project

from local_stack.banner import banner
from local_stack.stack import LocalStack, LocalStackConfig


@pytest.fixture
def ticking_stack(tmp_path: Path, output_dir: Path) -> Iterator[LocalStack]:
    """The sample project, its scheduled function running every 0.2 s instead of every minute."""
    config = LocalStackConfig(
        template_path=write_sample_project(tmp_path / "project"),
        aws_port=0,
        api_port=0,
        poll_wait_seconds=1,
        parameter_overrides={"OutputDir": str(output_dir)},
        schedule_seconds=0.2,
    )
    with LocalStack(config) as stack:
        yield stack


def ticks(output_dir: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in output_dir.glob("tick-*.json")]


def test_a_scheduled_function_runs_every_local_period_with_the_scheduled_event(
    ticking_stack: LocalStack, output_dir: Path
) -> None:
    wait_for(lambda: len(ticks(output_dir)) >= 2)

    event = ticks(output_dir)[0]
    assert (event["detail-type"], event["source"]) == ("Scheduled Event", "aws.events")
    assert event["resources"] == [
        "arn:aws:events:us-east-1:123456789012:rule/ingestion-local-TickFunctionEveryMinute"
    ]


def test_the_banner_names_each_schedule_and_its_local_period(ticking_stack: LocalStack) -> None:
    shown = banner(ticking_stack)

    assert "TickFunction every 0.2 s (rate(1 minute) in AWS; set by LOCAL_SCHEDULE_SECONDS)" in shown


def test_without_a_local_period_a_schedule_runs_at_its_rate(sample_stack: LocalStack) -> None:
    shown = banner(sample_stack)

    assert "TickFunction every 60 s (rate(1 minute) in AWS; changed with LOCAL_SCHEDULE_SECONDS)" in shown


def test_stop_stops_the_schedules(ticking_stack: LocalStack, output_dir: Path) -> None:
    wait_for(lambda: ticks(output_dir))

    ticking_stack.stop()
    after_stop = len(ticks(output_dir))

    assert not any(thread.name.startswith("schedule-") for thread in threading.enumerate())
    assert ticking_stack.timers == []
    assert len(ticks(output_dir)) == after_stop
