"""The template's functions, run the way the Lambda Python runtime runs them.

Each handler is imported from its CodeUri by file path under a module name of its own (every
entry point is called ``app.py``), with its layers' directories on ``sys.path`` as Lambda puts
them under ``/opt/python``. By default a function runs in this process, one lock serialising
its invocations like a single Lambda instance; a function given ``workers`` (the local stack
gives them to its SQS-triggered functions, see ``local_stack.workers``) runs each invocation in
a worker process of its own instead, several at once. Events and results make a round trip
through JSON either way, as they do in Lambda, so a handler that returns something Lambda
could not serialise fails here too.

Functions run in this process share its modules, among them the one logger of the shared layer,
whose Lambda context Powertools injects process-wide on each invocation: two invocations at once
would each log as whichever came last. So each invocation runs with its own function's context
in the logger's per-thread keys, which win over the process-wide ones (``call_handler``).
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from local_stack.stack_context import ACCOUNT_ID
from local_stack.template import Template, TemplateError

log = logging.getLogger(__name__)

FUNCTION_TYPES = ("AWS::Serverless::Function",)
# Lambda's defaults when the template sets neither the function's value nor a global one.
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_MEMORY_MB = 128
# Lambda's synchronous invocation limit, for the request and the response alike.
INVOCATION_PAYLOAD_LIMIT = 6 * 1024 * 1024

Handler = Callable[[dict[str, Any], Any], Any]


class FakeLambdaContext:
    """What the Lambda runtime hands a handler as ``context``.

    Carries the attributes Powertools reads (``function_name``, ``memory_limit_in_mb``,
    ``invoked_function_arn``, ``aws_request_id``) and counts the remaining time down from
    the function's timeout.
    """

    def __init__(
        self,
        function_name: str = "local-function",
        *,
        memory_limit_in_mb: int = DEFAULT_MEMORY_MB,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        region: str = "us-east-1",
        account_id: str = ACCOUNT_ID,
        aws_request_id: str | None = None,
        function_version: str = "$LATEST",
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.memory_limit_in_mb = int(memory_limit_in_mb)
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[{function_version}]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self.timeout_seconds = float(timeout_seconds)
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"FakeLambdaContext({self.function_name!r}, aws_request_id={self.aws_request_id!r})"


class Workers(Protocol):
    """Runs a function's invocations outside this process (``local_stack.workers.WorkerPool``)."""

    def invoke(self, payload: str, context: FakeLambdaContext | None) -> str:
        """The handler's result as JSON text for a JSON event; ``FunctionError`` if it fails."""
        ...


class FunctionError(Exception):
    """The function failed: Lambda's ``errorType`` and ``errorMessage`` for it."""

    def __init__(self, function_name: str, error_type: str, error_message: str) -> None:
        super().__init__(f"{function_name} failed: {error_type}: {error_message}")
        self.function_name = function_name
        self.error_type = error_type
        self.error_message = error_message


@dataclass
class LambdaFunction:
    """One function of the template, with what is needed to invoke it locally."""

    logical_id: str
    name: str
    handler: str
    code_uri: Path
    memory_size: int = DEFAULT_MEMORY_MB
    timeout: int = DEFAULT_TIMEOUT_SECONDS
    environment: dict[str, str] = field(default_factory=dict)
    layer_paths: list[Path] = field(default_factory=list)
    region: str = "us-east-1"
    account_id: str = ACCOUNT_ID
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    workers: Workers | None = field(default=None, repr=False)
    _handler: Handler | None = field(default=None, repr=False)
    # Whether this function has run an invocation in this process (its cold start is done).
    _warm: bool = field(default=False, repr=False)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def module_name(self) -> str:
        module, _, _ = self.handler.rpartition(".")
        return f"lambda_{self.logical_id}_{module.replace('.', '_')}"

    def new_context(self, aws_request_id: str | None = None) -> FakeLambdaContext:
        return FakeLambdaContext(
            self.name,
            memory_limit_in_mb=self.memory_size,
            timeout_seconds=self.timeout,
            region=self.region,
            account_id=self.account_id,
            aws_request_id=aws_request_id,
        )

    def load(self) -> Handler:
        """Import the handler once (the cold start); later calls reuse it."""
        if self._handler is None:
            quiet_empty_metrics_warning()
            for path in reversed(self.layer_paths):
                if str(path) not in sys.path:
                    sys.path.insert(0, str(path))
            self._handler = load_handler(self.code_uri, self.handler, self.module_name)
        return self._handler

    def invoke(self, event: dict[str, Any], context: FakeLambdaContext | None = None) -> Any:
        """Run the handler on ``event`` as Lambda would: in a worker process when the function
        has ``workers``, otherwise here, one invocation at a time.

        Raises ``FunctionError`` when the handler raises, cannot be imported, returns something
        that is not JSON or is over Lambda's response limit, and, in a worker, when it runs past
        its timeout or its process dies.
        """
        payload = json.dumps(event)
        if self.workers is not None:
            response = self.workers.invoke(payload, context)
        else:
            response = self._invoke_here(payload, context)
        size = len(response.encode())
        if size > INVOCATION_PAYLOAD_LIMIT:
            raise FunctionError(
                self.name,
                "Function.ResponseSizeTooLarge",
                f"response of {size} bytes exceeds Lambda's {INVOCATION_PAYLOAD_LIMIT}",
            )
        return json.loads(response)

    def _invoke_here(self, payload: str, context: FakeLambdaContext | None) -> str:
        with self.lock:
            try:
                handler = self.load()
            except Exception as error:
                log.error("%s: cannot import %s\n%s", self.logical_id, self.handler, traceback.format_exc())
                raise FunctionError(self.name, "Runtime.ImportModuleError", str(error)) from error
            context = context or self.new_context()
            started = time.monotonic()
            try:
                result = self.call_handler(handler, json.loads(payload), context)
            except Exception as error:
                log.error(
                    "%s raised (request %s)\n%s",
                    self.logical_id,
                    context.aws_request_id,
                    traceback.format_exc(),
                )
                raise FunctionError(self.name, type(error).__name__, str(error)) from error
            finally:
                elapsed = time.monotonic() - started
                if elapsed > self.timeout:
                    log.warning(
                        "%s ran %.1f s, longer than its %d s timeout: Lambda would have stopped it",
                        self.logical_id,
                        elapsed,
                        self.timeout,
                    )
        try:
            return json.dumps(result)
        except (TypeError, ValueError) as error:
            raise FunctionError(self.name, "Runtime.MarshalError", str(error)) from error

    def call_handler(self, handler: Handler, event: Any, context: FakeLambdaContext) -> Any:
        """Call the handler with this invocation's Lambda context in Powertools' per-thread log keys.

        Powertools' ``inject_lambda_context`` puts the context into keys the whole process shares;
        another function invoked meanwhile in this process would overwrite them, and this
        invocation's lines would name that function. The per-thread keys win over those, and live
        in a copy of the thread's context that ends with the invocation.
        """
        cold_start, self._warm = not self._warm, True
        return contextvars.copy_context().run(_call_with_log_keys, handler, event, context, cold_start)


def _call_with_log_keys(handler: Handler, event: Any, context: FakeLambdaContext, cold_start: bool) -> Any:
    formatter = sys.modules.get("aws_lambda_powertools.logging.formatter")
    lambda_context = sys.modules.get("aws_lambda_powertools.logging.lambda_context")
    if formatter is not None and lambda_context is not None:  # else no Powertools logger to keep apart
        keys = lambda_context.build_lambda_context_model(context).__dict__
        formatter.set_context_keys(cold_start=cold_start, **keys)
    return handler(event, context)


def quiet_empty_metrics_warning() -> None:
    """Silence Powertools' "No application metrics to publish" warning, and only it.

    ``Metrics.log_metrics`` warns on every invocation that adds no metric of its own, such as
    each read-only API call: noise in the local stack's output, not a problem. Any other
    warning, Powertools' own included, is shown as before.
    """
    warnings.filterwarnings(
        "ignore",
        message="No application metrics to publish",
        category=UserWarning,
        module=r"aws_lambda_powertools\.metrics",
    )


def load_handler(code_uri: str | Path, handler: str, module_name: str | None = None) -> Handler:
    """Import ``<code_uri>/<module>.py`` under ``module_name`` and return its handler function.

    Every entry point is called ``app.py``, so each gets a module name of its own instead
    of ``app``.
    """
    module_path, _, function_name = handler.rpartition(".")
    if not module_path:
        raise TemplateError(f"Handler {handler!r} is not <module>.<function>")
    path = Path(code_uri) / (module_path.replace(".", "/") + ".py")
    if not path.is_file():
        raise FileNotFoundError(f"handler module {path} does not exist")
    module_name = module_name or f"lambda_{path.parent.name}_{module_path.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    # Registered before it runs, as a normal import does (dataclasses and pickling look it up).
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AttributeError(f"{path} has no function {function_name}")
    return function


def functions_from_template(template: Template) -> dict[str, LambdaFunction]:
    """Every serverless function of the template, by logical id."""
    return {
        logical_id: function_from_template(template, logical_id)
        for logical_id in template.resources_of_type(*FUNCTION_TYPES)
    }


def function_from_template(template: Template, logical_id: str) -> LambdaFunction:
    properties = template.function_properties(logical_id)
    code_uri = template.resolve(properties.get("CodeUri"))
    if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
        raise TemplateError(f"{logical_id}: only a local CodeUri directory can be run locally")
    return LambdaFunction(
        logical_id=logical_id,
        name=str(template.ref(logical_id)),
        handler=str(template.resolve(properties["Handler"])),
        code_uri=(template.root / code_uri).resolve(),
        memory_size=int(template.resolve(properties.get("MemorySize", DEFAULT_MEMORY_MB))),
        timeout=int(template.resolve(properties.get("Timeout", DEFAULT_TIMEOUT_SECONDS))),
        environment=function_environment(template, logical_id),
        layer_paths=layer_paths(template, logical_id),
        region=template.context.region,
        account_id=template.context.account_id,
    )


def function_environment(template: Template, logical_id: str) -> dict[str, str]:
    """The environment variables the template gives a function (globals merged with its own)."""
    properties = template.function_properties(logical_id)
    variables = template.resolve(((properties.get("Environment") or {}).get("Variables")) or {})
    return {name: _environment_string(value) for name, value in variables.items()}


def layer_paths(template: Template, logical_id: str) -> list[Path]:
    """Directories to put on ``sys.path`` for a function's layers (Lambda's ``/opt/python``).

    A layer built by a makefile keeps its package at the root of its ContentUri; one built
    the standard way keeps it under ``python/``. Both are added when they exist. A layer
    given as an ARN (not defined in the template) cannot be found locally and is skipped.
    """
    paths: list[Path] = []
    for layer in template.function_properties(logical_id).get("Layers") or []:
        if not (isinstance(layer, dict) and isinstance(layer.get("Ref"), str)):
            log.warning("%s: layer %s is not a layer of this template; skipped", logical_id, layer)
            continue
        content_uri = template.resolve(template.raw_properties(layer["Ref"]).get("ContentUri"))
        if not isinstance(content_uri, str):
            continue
        root = (template.root / content_uri).resolve()
        for candidate in (root / "python", root):
            if candidate.is_dir() and candidate not in paths:
                paths.append(candidate)
    return paths


def runtime_environment(endpoint: str, region: str) -> dict[str, str]:
    """What the local stack adds to every function's environment, in place of Lambda's own.

    The credentials are always the fake ones, even when the developer has real ones set: a
    client that missed the endpoint would then fail instead of reaching a real account.
    """
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SAM_LOCAL": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def _environment_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"environment variable value {value!r} is not a string")
    return str(value)
