"""``python -m local_stack`` as ``make run`` starts it: banner, requests, and a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_stack_sample import write_sample_project

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningStack:
    def __init__(self, process: subprocess.Popen[str], api_port: int, aws_port: int) -> None:
        self.process = process
        self.api_port = api_port
        self.aws_port = aws_port
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in:\n{''.join(self.output)}") from None
            self.output.append(line)
            if text in line:
                return


@pytest.fixture
def running_stack(tmp_path: Path) -> Iterator[RunningStack]:
    output_dir = tmp_path / "output"
    output_dir.mkdir()
    api_port, aws_port = free_port(), free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "layers" / "shared")]),
        "LOCAL_STACK_TEMPLATE": str(write_sample_project(tmp_path / "project")),
        "API_PORT": str(api_port),
        "AWS_PORT": str(aws_port),
        "DEV_TOKEN": "process-token",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = RunningStack(process, api_port, aws_port)
    try:
        yield stack
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_make_run_serves_the_api_until_interrupted(running_stack: RunningStack) -> None:
    running_stack.wait_for_line("Ctrl-C stops it")
    running_stack.wait_for_line("process-token")
    request = urllib.request.Request(
        f"http://127.0.0.1:{running_stack.api_port}/api/echo/x",
        headers={"Authorization": "Token process-token"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a loopback URL)
        assert json.loads(response.read())["tenant"] == "dev"

    running_stack.process.send_signal(signal.SIGINT)

    assert running_stack.process.wait(timeout=20) == 0
    running_stack.wait_for_line("stopping the local stack")


def test_sigterm_stops_it_too(running_stack: RunningStack) -> None:
    running_stack.wait_for_line("Ctrl-C stops it")

    running_stack.process.send_signal(signal.SIGTERM)

    assert running_stack.process.wait(timeout=20) == 0


def test_a_taken_port_is_reported_instead_of_hanging(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "layers" / "shared")]),
            "LOCAL_STACK_TEMPLATE": str(write_sample_project(tmp_path / "project")),
            "API_PORT": str(free_port()),
            "AWS_PORT": str(taken.getsockname()[1]),
        }

        finished = subprocess.run(
            [sys.executable, "-m", "local_stack"],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert finished.returncode == 1
    assert "set AWS_PORT" in finished.stderr
