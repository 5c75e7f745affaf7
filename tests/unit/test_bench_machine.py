"""What a benchmark run says it ran on."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.machine import machine_info

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_names_its_machine_packages_and_the_engine_s_commit():
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    info = machine_info(ROOT)

    assert info["engine commit"].split(" ")[0] == head
    assert info["pyiceberg"] != "not installed"
    assert "usable" in info["cores"]
    assert len(info["load average (1, 5, 15 min)"].split()) == 3


def test_outside_a_git_checkout_the_commit_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "no-repository"))  # wherever tmp_path lies

    assert machine_info(tmp_path)["engine commit"] == "unknown"  # and no claim of changes either
