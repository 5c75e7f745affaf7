"""``python -m local_stack``'s command line: --help starts nothing, options stand for the variables."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.__main__ import OPTIONS, config_from_arguments

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def held_ports() -> Iterator[tuple[int, int]]:
    """Two ports already listened on: a stack that tried to start on them could not."""
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    yield listeners[0].getsockname()[1], listeners[1].getsockname()[1]
    for listener in listeners:
        listener.close()


def test_help_prints_the_usage_and_starts_nothing(held_ports: tuple[int, int]) -> None:
    api_port, aws_port = held_ports
    environment = os.environ | {"API_PORT": str(api_port), "AWS_PORT": str(aws_port)}
    started = time.monotonic()

    done = subprocess.run(
        [sys.executable, "-m", "local_stack", "--help"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    assert done.stdout.startswith("usage: python -m local_stack")
    for option, variable, _, _ in OPTIONS:
        assert option in done.stdout
        assert variable in done.stdout
    for variable in ("API_PORT", "AWS_PORT", "DEV_TOKEN", "DEV_TOKENS", "LOCAL_CONCURRENCY"):
        assert variable in done.stdout
    for variable in ("LOCAL_SCHEDULE_SECONDS", "LOCAL_PARAMETER_OVERRIDES", "LOCAL_THROTTLE"):
        assert variable in done.stdout
    # Neither the banner nor a complaint about the ports in use: it never tried to start.
    assert "running" not in done.stdout
    assert done.stderr == ""


def test_an_unknown_option_is_refused_without_starting(held_ports: tuple[int, int]) -> None:
    api_port, aws_port = held_ports
    environment = os.environ | {"API_PORT": str(api_port), "AWS_PORT": str(aws_port)}

    done = subprocess.run(
        [sys.executable, "-m", "local_stack", "--no-such-option"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "unrecognized arguments: --no-such-option" in done.stderr
    assert "cannot start" not in done.stderr


def test_options_win_over_the_environment() -> None:
    environment = {"API_PORT": "3001", "AWS_PORT": "5001", "LOCAL_CONCURRENCY": "2"}

    config = config_from_arguments(
        ["--api-port", "4000", "--throttle", "rate=5,burst=10", "--dev-tokens", "t2=acme"], environment
    )

    assert (config.api_port, config.aws_port, config.concurrency) == (4000, 5001, 2)
    assert config.throttle == "rate=5,burst=10"
    assert config.tokens == {"dev-token": "dev", "t2": "acme"}


def test_an_option_is_read_as_its_variable_is() -> None:
    with pytest.raises(ValueError, match="LOCAL_CONCURRENCY must be a whole number"):
        config_from_arguments(["--concurrency", "many"], {})
