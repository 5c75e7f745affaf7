"""``python -m local_stack.invoke FUNCTION EVENT`` (``make invoke``): one invocation, its response on stdout.

Exit status: 0 when the handler returned (its response printed as JSON), 1 when it raised (Lambda's
``errorType``/``errorMessage`` printed as JSON, the traceback on stderr) or the invocation could
not be set up, 2 when FUNCTION is not one of the template's functions or EVENT is not a JSON file.

``--list`` prints the template's functions; ``--env-vars [--endpoint URL]`` prints the ``sam local
invoke --env-vars`` file (events/local-env.json). The settings are the local stack's (AWS_PORT,
AWS_REGION, DEV_TOKEN, LOCAL_PARAMETER_OVERRIDES, ...: see ``local_stack.config``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from local_stack.config import LocalStackConfig
from local_stack.invoke.env_vars import DOCKER_ENDPOINT, env_vars_text
from local_stack.invoke.runner import InvokeError, UsageError, function_ids, invoke, load_template
from local_stack.template import TemplateError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.invoke",
        description="Run one of template.yaml's functions once on an event, as `sam local invoke` does.",
    )
    parser.add_argument("function", nargs="?", help="the function's logical id, e.g. StatusFunction")
    parser.add_argument("event", nargs="?", help="a JSON event file, e.g. events/list_collections.json")
    parser.add_argument("--list", action="store_true", help="print the template's functions")
    parser.add_argument(
        "--env-vars", action="store_true", help="print the `sam local invoke --env-vars` file"
    )
    parser.add_argument(
        "--endpoint", default=DOCKER_ENDPOINT, help=f"AWS endpoint in the --env-vars file ({DOCKER_ENDPOINT})"
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    try:
        config = LocalStackConfig.from_environment()
        if arguments.env_vars:
            sys.stdout.write(env_vars_text(config.template_path, arguments.endpoint))
            return 0
        if arguments.list:
            print("\n".join(function_ids(load_template(config, "http://127.0.0.1"))))
            return 0
        if not arguments.function or not arguments.event:
            missing = "FUNCTION and EVENT" if not arguments.function else "EVENT"
            raise UsageError(
                f"{missing} missing: make invoke FUNCTION=<logical id> EVENT=events/<file>.json "
                "(python -m local_stack.invoke --list prints the functions)"
            )
        with _stdout_to_stderr() as stdout:
            invocation = invoke(arguments.function, arguments.event, config)
            if invocation.error is not None:
                error = invocation.error
                print(
                    f"{arguments.function} raised {error.error_type}: {error.error_message}", file=sys.stderr
                )
                answer = {"errorType": error.error_type, "errorMessage": error.error_message}
                _write(stdout, answer)
                return 1
            _write(stdout, invocation.response)
            return 0
    except UsageError as error:
        print(f"make invoke: {error}", file=sys.stderr)
        return 2
    except (InvokeError, TemplateError, ValueError, OSError) as error:
        print(f"make invoke: {error}", file=sys.stderr)
        return 1


@contextmanager
def _stdout_to_stderr() -> Iterator[TextIO]:
    """Everything written to stdout in the block, by Python or by a library below it, goes to stderr;
    the stream yielded writes to the real stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    python_stdout = sys.stdout
    sys.stdout = sys.stderr
    real = os.fdopen(os.dup(saved), "w", encoding="utf-8")
    try:
        yield real
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)
        sys.stdout = python_stdout
        real.close()


def _write(stream: TextIO, value: object) -> None:
    stream.write(json.dumps(value, indent=2) + "\n")
    stream.flush()


if __name__ == "__main__":
    sys.exit(main())
