"""The whole service on this machine: local AWS services, the stack's resources, API and triggers.

``LocalStack(config).start()`` starts an embedded moto server, creates the template's
resources on it, seeds a development token, serves the API, starts one SQS poller per
``Type: SQS`` function event and one timer per ``Type: Schedule``/``ScheduleV2`` event
(``local_stack.schedules``); ``stop()`` undoes all of it, the process environment included, so
tests can run the stack in-process on free ports.

The API's and the scheduled functions run in this process, one invocation at a time each. An
SQS-triggered function runs as in Lambda: up to LOCAL_CONCURRENCY (4) invocations at once, each
with a batch of its own in a worker process of its own (``local_stack.workers``). A scheduled
function runs once per period of its ``rate(...)``, or every LOCAL_SCHEDULE_SECONDS when that is
set (the only way a ``cron(...)`` schedule runs here). The other settings are AWS_PORT, API_PORT,
AWS_REGION, LOCAL_VISIBILITY_TIMEOUT, DEV_TOKEN, DEV_TENANT, DEV_TOKENS, LOCAL_PARAMETER_OVERRIDES,
LOCAL_THROTTLE and LOCAL_STACK_TEMPLATE (see ``local_stack.config``).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import boto3

from local_stack.config import LocalStackConfig
from local_stack.functions import LambdaFunction, functions_from_template, runtime_environment
from local_stack.gateway import ApiDefinition, ApiGateway, GatewayServer, api_from_template
from local_stack.moto_speedups import cache_moto_module_list
from local_stack.resources import LOCAL_CREDENTIALS, create_resources
from local_stack.schedules import ScheduleTimer, schedule_sources
from local_stack.stack_context import StackContext
from local_stack.template import Template
from local_stack.tokens import seed_token
from local_stack.triggers import SqsPoller, sqs_event_sources
from local_stack.usage_plans import UsagePlanThrottle, local_usage_limits
from local_stack.workers import WorkerPool

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# Where a customer drops a file below the bucket's notification prefix (see the template's Outputs).
UPLOAD_LAYOUT = "<collectionId>/<dataType>/"
# Where an API client with a file too large for the API gets a URL to PUT it to.
UPLOAD_URL_ROUTE = "/api/collection/<collectionId>/data/<dataType>/append/upload-url"


class LocalStack:
    """The service running locally. Ports 0 mean "any free port"."""

    def __init__(self, config: LocalStackConfig | None = None, **overrides: Any) -> None:
        self.config = config or LocalStackConfig(**overrides)
        self.template: Template | None = None
        self.names: dict[str, str] = {}
        self.functions: dict[str, LambdaFunction] = {}
        self.api: ApiDefinition | None = None
        self.pollers: list[SqsPoller] = []
        self.timers: list[ScheduleTimer] = []
        self.worker_pools: list[WorkerPool] = []
        self._moto: Any = None
        self._gateway_server: GatewayServer | None = None
        self._saved_environment: dict[str, str | None] = {}
        self._added_paths: list[str] = []
        self.aws_port = self.config.aws_port
        self.api_port = self.config.api_port

    # ----------------------------------------------------------------- addresses

    @property
    def aws_endpoint(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def stage_url(self) -> str:
        return f"{self.api_url}/{self.running_api().stage}"

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        from moto.server import ThreadedMotoServer

        config = self.config
        self.aws_port = _available_port(config.aws_port, "AWS_PORT")
        self.api_port = _available_port(config.api_port, "API_PORT")
        # moto logs every request it serves through werkzeug; the stack logs what matters.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        cache_moto_module_list()
        self._moto = ThreadedMotoServer(ip_address=HOST, port=self.aws_port, verbose=False)
        self._moto.start()

        context = StackContext(
            region=config.region,
            endpoint_url=self.aws_endpoint,
            parameter_overrides=dict(config.parameter_overrides),
        )
        self.template = Template.load(config.template_path, context)
        self.names = create_resources(
            self.template, self.aws_endpoint, queue_visibility_timeout=config.visibility_timeout
        )
        self.functions = functions_from_template(self.template)
        for function in self.functions.values():
            self._add_paths(function.layer_paths)
        # Every function's variables go into this one process's environment before any handler
        # is imported; their union is used, so two functions must not disagree on a variable.
        self._apply_environment(self._function_environment())
        self._reset_shared_clients()

        if config.tokens_table in self.names:
            for token, tenant in config.tokens.items():
                seed_token(self._client("dynamodb"), self.names[config.tokens_table], token, tenant)
        sources = [source for source in sqs_event_sources(self.template) if source.enabled]
        # Workers start on first need, after the environment above: each inherits it as it starts.
        for function_id in dict.fromkeys(source.function_id for source in sources):
            function = self.functions[function_id]
            function.workers = pool = WorkerPool(function, config.concurrency)
            self.worker_pools.append(pool)
        for function in self.functions.values():
            if function.workers is not None:
                continue  # imported by each of its workers instead
            try:
                function.load()
            except Exception as error:  # reported again, with its traceback, on each invocation
                log.error(
                    "%s cannot be imported yet: %s: %s", function.logical_id, type(error).__name__, error
                )

        self.api = api_from_template(self.template)
        limits = local_usage_limits(config.throttle, self.template, self.api.logical_id)
        gateway = ApiGateway(
            self.api,
            self.functions,
            context,
            large_file_hint=self._large_file_hint(),
            usage_plan=UsagePlanThrottle(limits) if limits is not None else None,
        )
        self._gateway_server = GatewayServer(gateway, HOST, self.api_port)
        self._gateway_server.start()
        self.api_port = self._gateway_server.port

        for source in sources:
            poller = SqsPoller(
                source,
                self.functions[source.function_id],
                self._client("sqs"),
                wait_seconds=config.poll_wait_seconds,
                concurrency=config.concurrency,
            )
            poller.start()
            self.pollers.append(poller)

        for schedule in schedule_sources(self.template):
            period = config.schedule_seconds or schedule.rate_seconds
            if not schedule.enabled or period is None:
                if schedule.enabled:
                    log.warning(
                        "%s's schedule %s is not run locally: set LOCAL_SCHEDULE_SECONDS to run it",
                        schedule.function_id,
                        schedule.expression,
                    )
                continue
            timer = ScheduleTimer(schedule, self.functions[schedule.function_id], period)
            timer.start()
            self.timers.append(timer)

    def stop(self) -> None:
        """Stop pollers, workers, API and AWS services, and restore the environment. Safe to call twice.

        A worker's running invocation ends with it; its messages come back after the visibility timeout.
        """
        for poller in self.pollers:
            poller.request_stop()
        for timer in self.timers:
            timer.request_stop()
        for pool in self.worker_pools:
            pool.stop()
        for poller in self.pollers:
            poller.stop()
        for timer in self.timers:
            timer.stop()
        self.pollers = []
        self.timers = []
        self.worker_pools = []
        for function in self.functions.values():
            function.workers = None
        if self._gateway_server is not None:
            self._gateway_server.stop()
            self._gateway_server = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._restore_environment()
        for path in self._added_paths:
            if path in sys.path:
                sys.path.remove(path)
        self._added_paths = []
        self._reset_shared_clients()

    # ----------------------------------------------------------------- what is running

    def bucket_name(self) -> str:
        buckets = self.running_template().resources_of_type("AWS::S3::Bucket")
        return next(self.names[i] for i in buckets if i in self.names)

    def queue_visibility(self) -> dict[str, tuple[int | None, int | None]]:
        """Each queue's local visibility timeout and the template's."""
        template = self.running_template()
        result = {}
        for logical_id in template.resources_of_type("AWS::SQS::Queue"):
            declared = template.properties(logical_id).get("VisibilityTimeout")
            local = self.config.visibility_timeout
            result[logical_id] = (
                local if local is not None else declared,
                int(declared) if declared is not None else None,
            )
        return result

    def running_template(self) -> Template:
        """The template the stack was started from."""
        if self.template is None:
            raise RuntimeError("the local stack is not started")
        return self.template

    def running_api(self) -> ApiDefinition:
        """The API the stack serves."""
        if self.api is None:
            raise RuntimeError("the local stack is not started")
        return self.api

    @property
    def usage_plan(self) -> UsagePlanThrottle | None:
        """The API's throttle when LOCAL_THROTTLE applies one, else None."""
        return self._gateway_server.gateway.usage_plan if self._gateway_server else None

    def notification_prefix(self) -> str:
        """The key prefix under which a file dropped into the bucket notifies the validator."""
        template = self.running_template()
        for logical_id in template.resources_of_type("AWS::S3::Bucket"):
            notifications = template.properties(logical_id).get("NotificationConfiguration") or {}
            for queue in notifications.get("QueueConfigurations") or []:
                for rule in ((queue.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []:
                    if rule.get("Name") == "prefix":
                        return str(rule["Value"])
        return ""

    # ----------------------------------------------------------------- helpers

    def _client(self, service: str) -> Any:
        return boto3.client(
            service, endpoint_url=self.aws_endpoint, region_name=self.config.region, **LOCAL_CREDENTIALS
        )

    def _function_environment(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for function in self.functions.values():
            for name, value in function.environment.items():
                if name in merged and merged[name] != value:
                    log.warning(
                        "%s sets %s=%s but another function sets %s: all share one process here",
                        function.logical_id,
                        name,
                        value,
                        merged[name],
                    )
                merged.setdefault(name, value)
        merged.update(runtime_environment(self.aws_endpoint, self.config.region))
        visibility = self.config.visibility_timeout
        if visibility is not None and "PROCESSING_LEASE_SECONDS" in merged:
            # An attempt's lease must run out before its message comes back, or the redelivery
            # of a crashed attempt finds the lease still live and the request waits for nothing.
            lease = min(int(merged["PROCESSING_LEASE_SECONDS"]), max(1, visibility - 5))
            merged["PROCESSING_LEASE_SECONDS"] = str(lease)
        return merged

    def _apply_environment(self, variables: dict[str, str]) -> None:
        for name, value in variables.items():
            if name not in self._saved_environment:
                self._saved_environment[name] = os.environ.get(name)
            os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}

    def _add_paths(self, paths: list[Path]) -> None:
        for path in paths:
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
                self._added_paths.append(str(path))

    def _large_file_hint(self) -> str:
        return (
            f"ask for an upload URL (POST {UPLOAD_URL_ROUTE}) and PUT the file to it, or drop it into the "
            f"bucket: s3://{self.bucket_name()}/{self.notification_prefix()}{UPLOAD_LAYOUT}"
        )

    @staticmethod
    def _reset_shared_clients() -> None:
        """Forget the shared package's cached clients and settings: the environment changed."""
        try:
            from ingestion import aws
        except ImportError:
            return
        aws.reset()


def _available_port(port: int, variable: str) -> int:
    """``port``, or a free one when it is 0; a clear error when it is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise OSError(f"{HOST}:{port} is in use: stop what uses it or set {variable}") from error
        return probe.getsockname()[1]
