"""The benchmark's measuring: the moto server's CPU seconds, read by a case from its parent."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.measuring import cpu_seconds

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_case_reads_its_parent_s_cpu_seconds_which_hold_the_server_s():
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # this process (the case's parent) works a while
        pass
    before = cpu_seconds()

    read = subprocess.run(
        [sys.executable, "-c", "from bench.measuring import server_cpu_seconds; print(server_cpu_seconds())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    # Clock ticks of 10 ms: the parent's figure, not the child's own (a fresh process's is ~0).
    assert before - 0.05 <= float(read) <= cpu_seconds() + 0.05
    assert float(read) >= 0.25
