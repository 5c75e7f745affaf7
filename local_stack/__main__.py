"""``python -m local_stack`` (``make run``): the whole service on 127.0.0.1 until Ctrl-C.

``python -m local_stack --help`` lists the settings and starts nothing. Each can be given as an
option (``--api-port 3001``, which wins) or in the environment: AWS_PORT (5000), API_PORT
(3000), AWS_REGION (us-east-1), LOCAL_VISIBILITY_TIMEOUT (30 s), LOCAL_CONCURRENCY (4: how many
invocations of each SQS-triggered function run at once, each in a worker process of its own),
LOCAL_SCHEDULE_SECONDS (unset: each scheduled function runs at its template rate, e.g. every 5
minutes; set, it runs every that many seconds, and so do cron schedules), DEV_TOKEN (dev-token),
DEV_TENANT (dev), DEV_TOKENS (more tokens for other tenants: ``token=tenant`` pairs separated by
commas, e.g. ``t2=acme,t3=globex``), LOCAL_PARAMETER_OVERRIDES (template parameters as
``Name=Value Name2=Value2``, e.g. ``MaxDecompressedMiB=64``), LOCAL_THROTTLE (unset: no
throttling; ``template``: each tenant's API key throttled as the template's usage plan does; or
``rate=5,burst=10[,quota=1000]``) and LOCAL_STACK_TEMPLATE (the project's template.yaml).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from types import FrameType

from local_stack.banner import banner
from local_stack.stack import LocalStack, LocalStackConfig

# Each option sets the environment variable of the same setting, and wins over it:
# (option, variable, metavar, what it sets and its default).
OPTIONS = (
    ("--api-port", "API_PORT", "PORT", "the API's port on 127.0.0.1 (3000)"),
    (
        "--aws-port",
        "AWS_PORT",
        "PORT",
        "the port of S3, SQS, DynamoDB and Glue on 127.0.0.1 (5000)",
    ),
    ("--region", "AWS_REGION", "REGION", "the AWS region (us-east-1)"),
    (
        "--visibility-timeout",
        "LOCAL_VISIBILITY_TIMEOUT",
        "SECONDS",
        "every queue's visibility timeout, instead of the template's (30)",
    ),
    (
        "--concurrency",
        "LOCAL_CONCURRENCY",
        "N",
        "how many invocations of each SQS-triggered function run at once, each in a worker process (4)",
    ),
    (
        "--schedule-seconds",
        "LOCAL_SCHEDULE_SECONDS",
        "SECONDS",
        "run every scheduled function every that many seconds, cron schedules too "
        "(unset: each at its template rate; cron schedules not at all)",
    ),
    ("--dev-token", "DEV_TOKEN", "TOKEN", "the development token (dev-token)"),
    ("--dev-tenant", "DEV_TENANT", "TENANT", "the tenant DEV_TOKEN acts for (dev)"),
    (
        "--dev-tokens",
        "DEV_TOKENS",
        "PAIRS",
        "more tokens, each for a tenant of its own: token=tenant pairs, e.g. t2=acme,t3=globex",
    ),
    (
        "--parameter-overrides",
        "LOCAL_PARAMETER_OVERRIDES",
        "PAIRS",
        "template parameters as 'Name=Value Name2=Value2', e.g. MaxDecompressedMiB=64",
    ),
    (
        "--throttle",
        "LOCAL_THROTTLE",
        "SPEC",
        "throttle each tenant's API key: 'template' (the template's usage plan) or "
        "'rate=5,burst=10[,quota=1000]' (unset: no throttling)",
    ),
    ("--template", "LOCAL_STACK_TEMPLATE", "PATH", "the SAM template to run (the project's template.yaml)"),
)


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack",
        description="The whole service on 127.0.0.1 without Docker (make run), until Ctrl-C: "
        "AWS services on an embedded moto server, the template's API and functions in front of it.",
        epilog="Each option can be given as its environment variable instead: "
        + ", ".join(variable for _, variable, _, _ in OPTIONS)
        + ".",
    )
    for option, variable, metavar, text in OPTIONS:
        parser.add_argument(option, metavar=metavar, dest=variable, help=f"{text}; env {variable}")
    return parser


def config_from_arguments(
    arguments: Sequence[str], environ: Mapping[str, str] | None = None
) -> LocalStackConfig:
    """The settings of the environment, each option given in ``arguments`` replacing its variable.

    ``SystemExit`` for ``--help`` (after printing it) or an unknown option; ``ValueError`` for
    a setting that cannot be read.
    """
    parsed = vars(argument_parser().parse_args(arguments))
    environment = dict(os.environ if environ is None else environ)
    environment.update({variable: value for variable, value in parsed.items() if value is not None})
    return LocalStackConfig.from_environment(environment)


def main(arguments: Sequence[str] | None = None) -> int:
    try:
        config = config_from_arguments(sys.argv[1:] if arguments is None else arguments)
    except ValueError as error:  # a setting that is not a number
        print(f"cannot start the local stack: {error}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    stopping = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stack = LocalStack(config)
    try:
        stack.start()
    except OSError as error:
        print(f"cannot start the local stack: {error}", file=sys.stderr)
        return 1
    try:
        print(banner(stack), flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        print("stopping the local stack...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
