"""Runs one function of the template once on one event, against the local stack's AWS endpoint.

The endpoint is the one of a ``make run`` answering on AWS_PORT when there is one (its tables,
bucket and tokens are used as they are), else a moto server started for this invocation alone,
on a free port, with the stack's resources created on it from the template and the development
tokens seeded, and stopped afterwards.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local_stack.config import LocalStackConfig
from local_stack.functions import (
    FUNCTION_TYPES,
    FunctionError,
    LambdaFunction,
    function_from_template,
    runtime_environment,
)
from local_stack.resources import LOCAL_CREDENTIALS, create_resources
from local_stack.stack_context import StackContext
from local_stack.template import Template
from local_stack.tokens import seed_token

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class UsageError(Exception):
    """The command line names no function of the template, or no readable event (exit 2)."""


class InvokeError(Exception):
    """The invocation could not be set up: the handler never ran (exit 1)."""


@dataclass
class Invocation:
    """What one invocation did: the handler's response, or the error it raised."""

    function_id: str
    endpoint: str
    throwaway: bool
    response: Any = None
    error: FunctionError | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def function_ids(template: Template) -> list[str]:
    """The template's functions' logical ids, in template order."""
    return template.resources_of_type(*FUNCTION_TYPES)


def load_template(config: LocalStackConfig, endpoint: str) -> Template:
    """The template resolved as the local stack resolves it, queue URLs pointing at ``endpoint``."""
    context = StackContext(
        region=config.region,
        endpoint_url=endpoint,
        parameter_overrides=dict(config.parameter_overrides),
    )
    return Template.load(config.template_path, context)


def read_event(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"event file {path} does not exist (the sample events are in events/)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"event file {path} is not JSON: {error}") from None


def check_function(template: Template, function_id: str) -> None:
    ids = function_ids(template)
    if function_id not in ids:
        raise UsageError(
            f"unknown function {function_id!r}: FUNCTION is the logical id of one of the template's "
            "functions:\n" + "\n".join(f"  {logical_id}" for logical_id in ids)
        )


def invoke(function_id: str, event_path: str | Path, config: LocalStackConfig | None = None) -> Invocation:
    """Run ``function_id``'s handler once on the event in ``event_path``.

    Sets this process's environment to the function's, and puts its layers on ``sys.path``: run it
    once per process, as ``python -m local_stack.invoke`` does.
    """
    config = config or LocalStackConfig.from_environment()
    probe = load_template(config, f"http://{HOST}:{config.aws_port}")
    check_function(probe, function_id)
    event = read_event(event_path)
    with aws_endpoint(probe, config) as (endpoint, throwaway):
        function = function_from_template(load_template(config, endpoint), function_id)
        os.environ.update(invocation_environment(function, endpoint, config))
        reset_shared_clients()
        invocation = Invocation(function_id, endpoint, throwaway)
        log.info(
            "invoking %s (%s) against %s%s",
            function_id,
            function.handler,
            endpoint,
            " (a throwaway server: no make run answers on AWS_PORT)" if throwaway else " (make run)",
        )
        try:
            invocation.response = function.invoke(event)
        except FunctionError as error:
            invocation.error = error
        return invocation


def invocation_environment(
    function: LambdaFunction, endpoint: str, config: LocalStackConfig
) -> dict[str, str]:
    """The function's variables from the template, plus what the local stack gives every function."""
    variables = dict(function.environment) | runtime_environment(endpoint, config.region)
    return with_local_lease(variables, config.visibility_timeout)


def with_local_lease(variables: dict[str, str], visibility_timeout: int | None) -> dict[str, str]:
    """The local stack's rule: an attempt's processing lease runs out before its message comes
    back from the queue, whose visibility timeout the local stack shortens."""
    if visibility_timeout is not None and "PROCESSING_LEASE_SECONDS" in variables:
        lease = min(int(variables["PROCESSING_LEASE_SECONDS"]), max(1, visibility_timeout - 5))
        variables = variables | {"PROCESSING_LEASE_SECONDS": str(lease)}
    return variables


def reset_shared_clients() -> None:
    """Forget clients and settings the shared package cached before the environment was set."""
    try:
        from ingestion import aws
    except ImportError:
        return
    aws.reset()


# --------------------------------------------------------------------------- the AWS endpoint


@contextmanager
def aws_endpoint(template: Template, config: LocalStackConfig) -> Iterator[tuple[str, bool]]:
    """(endpoint, throwaway): a running local stack's, or a throwaway server's until the block ends."""
    running = f"http://{HOST}:{config.aws_port}"
    if answers(HOST, config.aws_port):
        check_local_stack(template, running, config)
        yield running, False
        return
    yield from _throwaway_server(template, config)


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_local_stack(template: Template, endpoint: str, config: LocalStackConfig) -> None:
    """Fail unless ``endpoint`` holds the stack's bucket (or, without one, its first table)."""
    buckets = template.resources_of_type("AWS::S3::Bucket")
    tables = template.resources_of_type("AWS::DynamoDB::Table")
    client_config = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
    try:
        if buckets:
            name = template.physical_name(buckets[0])
            _client("s3", endpoint, config.region, client_config).head_bucket(Bucket=name)
        elif tables:
            name = template.physical_name(tables[0])
            _client("dynamodb", endpoint, config.region, client_config).describe_table(TableName=name)
        else:
            return
    except (ClientError, BotoCoreError) as error:
        raise InvokeError(
            f"{endpoint} answers but has not the stack's {name} ({error}): it is not this project's "
            "`make run`. Stop what listens there, or set AWS_PORT to the port of `make run` "
            "(or to a free port, for a throwaway server)."
        ) from None


def _throwaway_server(template: Template, config: LocalStackConfig) -> Iterator[tuple[str, bool]]:
    from moto.server import ThreadedMotoServer

    # moto logs every request it serves through werkzeug.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = _free_port()
    endpoint = f"http://{HOST}:{port}"
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        context = replace(template.context, endpoint_url=endpoint)
        names = create_resources(
            Template(template.document, root=template.root, context=context),
            endpoint,
            queue_visibility_timeout=config.visibility_timeout,
        )
        if config.tokens_table in names:
            dynamodb = _client("dynamodb", endpoint, config.region)
            for token, tenant in config.tokens.items():
                seed_token(dynamodb, names[config.tokens_table], token, tenant)
        log.info("throwaway AWS endpoint %s with the stack's %d resources", endpoint, len(names))
        yield endpoint, True
    finally:
        server.stop()


def _client(service: str, endpoint: str, region: str, config: Config | None = None) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region, config=config, **LOCAL_CREDENTIALS
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]
