"""``python -m local_stack`` (``make run``): the whole service on 127.0.0.1 until Ctrl-C.

Settings come from the environment: AWS_PORT (5000), API_PORT (3000), AWS_REGION (us-east-1),
LOCAL_VISIBILITY_TIMEOUT (30 s), LOCAL_CONCURRENCY (4: how many invocations of each SQS-triggered
function run at once, each in a worker process of its own), LOCAL_SCHEDULE_SECONDS (unset: each
scheduled function runs at its template rate, e.g. every 5 minutes; set, it runs every that many
seconds, and so do cron schedules), DEV_TOKEN (dev-token), DEV_TENANT (dev), DEV_TOKENS (more
tokens for other tenants: ``token=tenant`` pairs separated by commas, e.g. ``t2=acme,t3=globex``),
LOCAL_PARAMETER_OVERRIDES (template parameters as ``Name=Value Name2=Value2``, e.g.
``MaxDecompressedMiB=64``), LOCAL_THROTTLE (unset: no throttling; ``template``: each tenant's API
key throttled as the template's usage plan does; or ``rate=5,burst=10[,quota=1000]``) and
LOCAL_STACK_TEMPLATE (the project's template.yaml).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from local_stack.stack import LocalStack, LocalStackConfig


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    stopping = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        config = LocalStackConfig.from_environment()
    except ValueError as error:  # a setting that is not a number
        print(f"cannot start the local stack: {error}", file=sys.stderr)
        return 1
    stack = LocalStack(config)
    try:
        stack.start()
    except OSError as error:
        print(f"cannot start the local stack: {error}", file=sys.stderr)
        return 1
    try:
        print(stack.banner(), flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        print("stopping the local stack...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
