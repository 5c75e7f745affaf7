"""Case 5: how fast the local stack drains a burst of small uploads into one table.

``python -m bench.drain [--uploads 200] [--rate 10]`` (``make bench`` runs it too and adds its
section to ``bench/results.md``). It starts the local stack (``python -m local_stack``, what
``make run`` serves: the API gateway, the validator's worker processes fed by the queue, the
commit lock) on free ports, creates a collection, and posts ``--uploads`` appends of the 5-row
sample (the same 5 deals, each time a newer version: a CRM sync) to the append route at about
``--rate`` a second from a few clients. Then it polls the uploads until every one has
finished and reports:

- **drain**: seconds from the last upload's 202 to the last one finished: what a queue of
  small uploads costs to catch up (the target: within 60 s for 200);
- the validator's time per upload (``startedDatetime`` to ``finishedDatetime``) at the start,
  the middle and the end of the burst, and the rows in the table at the end (5).

Everything goes through the same code as in production: the entry function stores each file,
S3 notifies the queue, the validator workers (``LOCAL_CONCURRENCY``) validate in parallel and
merge one at a time under the table's commit lock.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "events" / "deals.csv"
TOKEN = "bench-drain-token"  # noqa: S105 - the local stack's dev token
DEFAULT_UPLOADS = 200
DEFAULT_RATE = 10.0
CLIENTS = 4
TARGET_SECONDS = 60.0
WAIT_SECONDS = 1800.0


@dataclass
class Local:
    url: str
    headers: dict[str, str]
    output: collections.deque[str]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def local_stack(**environment: str) -> Iterator[Local]:
    """``python -m local_stack`` on free ports until the block ends."""
    api_port = _free_port()
    # The stack points its functions at its own moto server; an endpoint set for another goes.
    inherited = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    variables = inherited | {
        "API_PORT": str(api_port),
        "AWS_PORT": str(_free_port()),
        "DEV_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "shared")]),
        **environment,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: collections.deque[str] = collections.deque(maxlen=200)
    url = f"http://127.0.0.1:{api_port}"
    lines = process.stdout or ()
    for line in lines:
        output.append(line)
        if url in line:
            break
    else:
        raise RuntimeError("the local stack exited:\n" + "".join(output))
    # Keep reading, or the stack blocks once the pipe's buffer is full of its logs.
    threading.Thread(target=output.extend, args=(lines,), daemon=True).start()
    try:
        yield Local(url=url, headers={"Authorization": f"Token {TOKEN}"}, output=output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def sync_files(count: int) -> list[bytes]:
    """``count`` versions of the 5-row sample, each newer than the one before."""
    head, *rows = SAMPLE.read_bytes().rstrip(b"\n").split(b"\n")
    files = []
    for number in range(count):
        minute = f"2024-07-{1 + number // 1440:02d}T{(number // 60) % 24:02d}:{number % 60:02d}:00".encode()
        body = b"\n".join(row.rsplit(b",", 2)[0] + b"," + minute + b"," + minute for row in rows)
        files.append(head + b"\n" + body + b"\n")
    return files


def post_uploads(local: Local, collection: str, files: list[bytes], rate: float) -> tuple[list[str], float]:
    """Post every file from ``CLIENTS`` clients at about ``rate`` a second in all; the request
    ids in posting order, and the monotonic time of the last 202."""
    url = f"{local.url}/api/collection/{collection}/data/deals/append"
    ids: list[str | None] = [None] * len(files)
    answered: list[float] = []
    started = time.monotonic()

    def client(offset: int) -> None:
        with requests.Session() as session:
            for number in range(offset, len(files), CLIENTS):
                time.sleep(max(0.0, started + number / rate - time.monotonic()))
                upload = {"file": (f"sync-{number}.csv", files[number])}
                answer = session.post(url, files=upload, headers=local.headers, timeout=60)
                if answer.status_code != 202:
                    raise RuntimeError(f"upload {number} answered {answer.status_code}: {answer.text}")
                ids[number] = answer.json()["id"]
                answered.append(time.monotonic())

    threads = [threading.Thread(target=client, args=(offset,)) for offset in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if None in ids or len(answered) != len(files):
        raise RuntimeError("some uploads were not answered; see the output above")
    return [request_id for request_id in ids if request_id], max(answered)


def uploads(local: Local, collection: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token = None
    while True:
        params = {"limit": 100, **({"nextToken": token} if token else {})}
        answer = requests.get(
            f"{local.url}/api/collection/{collection}/data/deals/append",
            params=params,
            headers=local.headers,
            timeout=60,
        )
        answer.raise_for_status()
        body = answer.json()
        found += body["items"]
        token = body.get("nextToken")
        if not token:
            return found


def _seconds(item: dict[str, Any]) -> float | None:
    if not item.get("startedDatetime") or not item.get("finishedDatetime"):
        return None
    started = datetime.fromisoformat(item["startedDatetime"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(item["finishedDatetime"].replace("Z", "+00:00"))
    return (finished - started).total_seconds()


def drain(upload_count: int = DEFAULT_UPLOADS, rate: float = DEFAULT_RATE) -> dict[str, Any]:
    with local_stack() as local:
        answer = requests.post(
            f"{local.url}/api/collection", json={"name": "drain"}, headers=local.headers, timeout=60
        )
        answer.raise_for_status()
        collection = answer.json()["id"]
        first_post = time.monotonic()
        ids, last_arrival = post_uploads(local, collection, sync_files(upload_count), rate)
        deadline = last_arrival + WAIT_SECONDS
        while True:
            found = {item["id"]: item for item in uploads(local, collection)}
            finished = [found[i] for i in ids if found.get(i, {}).get("status") in ("completed", "error")]
            if len(finished) == len(ids):
                drained = time.monotonic()
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{len(ids) - len(finished)} uploads unfinished after {WAIT_SECONDS:.0f} s:\n"
                    + "".join(local.output)
                )
            time.sleep(0.25)
        answer = requests.get(f"{local.url}/api/collection/{collection}", headers=local.headers, timeout=60)
        rows = answer.json()
    ordered = [found[i] for i in ids]
    times = [seconds for seconds in map(_seconds, ordered) if seconds is not None]
    third = max(1, len(times) // 4)
    return {
        "uploads": upload_count,
        "rate": rate,
        "concurrency": os.environ.get("LOCAL_CONCURRENCY", "default"),
        "arrival_seconds": last_arrival - first_post,
        # Measured by polling every 0.25 s (and each poll's own time): a fraction of a second late.
        "drain_seconds": drained - last_arrival,
        "completed": sum(item["status"] == "completed" for item in ordered),
        "errors": sum(item["status"] == "error" for item in ordered),
        "row_count": rows["dataTypes"].get("deals", {}).get("rowCount"),
        "processing_first": statistics.median(times[:third]),
        "processing_middle": statistics.median(times[len(times) // 2 - third // 2 :][:third]),
        "processing_last": statistics.median(times[-third:]),
    }


def section(result: dict[str, Any]) -> list[str]:
    """The Markdown section of ``bench/results.md``."""
    within = "yes" if result["drain_seconds"] <= TARGET_SECONDS else "**no**"
    quarter = max(1, result["uploads"] // 4)
    return [
        "",
        f"## Case 5: draining {result['uploads']} small uploads into one table (the local stack)",
        "",
        f"`python -m bench.drain --uploads {result['uploads']} --rate {result['rate']:g}`: the 5-row sample"
        f" posted {result['uploads']} times (each a newer version of the same 5 deals) to the append route"
        f" of `python -m local_stack` at about {result['rate']:g} a second; validator workers:"
        f" LOCAL_CONCURRENCY={result['concurrency']}. One run: the drain is one figure, not a series.",
        "",
        "| posting took s | drain after the last 202, s | within 60 s | completed | error | rows at the end |"
        " validator s per upload: first / middle / last quarter (median) |",
        "|---|---|---|---|---|---|---|",
        f"| {result['arrival_seconds']:.1f} | {result['drain_seconds']:.1f} | {within}"
        f" | {result['completed']} | {result['errors']} | {result['row_count']}"
        f" | {result['processing_first']:.2f} /"
        f" {result['processing_middle']:.2f} / {result['processing_last']:.2f} ({quarter} uploads each) |",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drain", description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=DEFAULT_UPLOADS)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="uploads posted a second, in all")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = drain(args.uploads, args.rate)
    print(json.dumps(result, indent=2) if args.json else "\n".join(section(result)))


if __name__ == "__main__":
    main()
