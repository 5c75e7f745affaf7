"""Execution environments for a function: warm worker processes, each running one invocation at a time.

Lambda runs up to N invocations of an SQS-triggered function at once, each in an execution
environment of its own: a process that imported the handler once (its cold start) and then
serves one invocation after another. Module-level state, caches and clients are per process,
and two invocations really overlap. Running every handler in the local stack's own process,
one at a time, hides the bugs that come from that (two commits racing on one table, a cache
shared by mistake), so a ``WorkerPool`` gives a function the same: up to ``size`` worker
processes, started on first need and reused while they live.

A worker is a spawned process (the parent runs threads, which a forked child would inherit
in whatever state they were), so it inherits ``os.environ`` as it is when the worker starts:
the stack applies the functions' environment before any invocation, hence before any worker.
The parent enforces what Lambda enforces: an invocation still running after the function's
Timeout is killed with its process (``Sandbox.Timedout``), and a process that dies during an
invocation (a crash, ``os._exit``, a signal) fails it (``Runtime.ExitError``); the next
invocation gets a fresh worker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from local_stack.functions import FakeLambdaContext, FunctionError, LambdaFunction

log = logging.getLogger(__name__)

# The directory holding this package, so that a worker imports it as the stack does.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Time a killed invocation is given beyond its Timeout, for the answer to cross the pipe.
TIMEOUT_MARGIN_SECONDS = 1.0
# Lambda's limit on a function's initialisation, unless its Timeout is longer.
INIT_LIMIT_SECONDS = 10.0
_SPAWN = multiprocessing.get_context("spawn")
STOPPING = "the local stack is stopping"


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs to rebuild its function: the parent's ``LambdaFunction``
    holds a lock and its pool, which cannot cross to another process."""

    logical_id: str
    name: str
    handler: str
    code_uri: Path
    memory_size: int
    timeout: int
    layer_paths: tuple[Path, ...]
    region: str
    account_id: str
    label: str
    log_level: int

    @classmethod
    def of(cls, function: LambdaFunction, label: str) -> WorkerSpec:
        return cls(
            logical_id=function.logical_id,
            name=function.name,
            handler=function.handler,
            code_uri=function.code_uri,
            memory_size=function.memory_size,
            timeout=function.timeout,
            layer_paths=tuple(function.layer_paths),
            region=function.region,
            account_id=function.account_id,
            label=label,
            log_level=logging.getLogger().getEffectiveLevel(),
        )

    def function(self) -> LambdaFunction:
        return LambdaFunction(
            logical_id=self.logical_id,
            name=self.name,
            handler=self.handler,
            code_uri=self.code_uri,
            memory_size=self.memory_size,
            timeout=self.timeout,
            layer_paths=list(self.layer_paths),
            region=self.region,
            account_id=self.account_id,
        )


# --------------------------------------------------------------------------- in the worker process


def serve(connection: Connection, spec: WorkerSpec) -> None:
    """A worker's life: import the handler, say so, then answer invocations one after another.

    Each request is ``(event as JSON, request id)``; each answer ``("result", JSON)`` or
    ``("error", type, message, traceback)``. The worker ends when the stack kills it or, should
    the stack die first, when its end of the pipe closes.
    """
    # Ctrl-C reaches the whole process group; the stack stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _configure_output(spec)
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    function = spec.function()
    started = time.monotonic()
    try:
        handler = function.load()
    except BaseException as error:
        connection.send(("error", "Runtime.ImportModuleError", str(error), traceback.format_exc()))
        return  # a failed initialisation is not reused: the next invocation starts afresh
    connection.send(("ready", time.monotonic() - started))
    while True:
        try:
            payload, request_id = connection.recv()
        except EOFError:
            return  # the stack is gone
        try:
            result = function.call_handler(handler, json.loads(payload), function.new_context(request_id))
        except Exception as error:
            connection.send(("error", type(error).__name__, str(error), traceback.format_exc()))
            continue
        try:
            response = json.dumps(result)
        except (TypeError, ValueError) as error:
            connection.send(("error", "Runtime.MarshalError", str(error), ""))
            continue
        connection.send(("result", response))


def _configure_output(spec: WorkerSpec) -> None:
    """Log as the stack does, each line naming the worker; print lines as they come."""
    logging.basicConfig(
        level=spec.log_level,
        format=f"%(asctime)s %(levelname)-7s [{spec.label}] %(name)s: %(message)s",
    )
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)


# --------------------------------------------------------------------------- in the stack's process


class _Ended(Exception):
    """The worker process ended before answering: how it ended, as Lambda words it."""


class Worker:
    """One worker process of a function, seen from the stack."""

    def __init__(self, function: LambdaFunction, number: int) -> None:
        self.function = function
        self.number = number
        self.label = f"{function.logical_id} worker {number}"
        self.pid: int | None = None
        self._connection: Connection | None = None
        self._process: Any = None
        self._lifecycle = threading.Lock()  # start and stop may come from two threads
        self._stopping = False

    @property
    def alive(self) -> bool:
        with self._lifecycle:
            return self._process is not None and not self._stopping and self._process.is_alive()

    def start(self) -> None:
        """Start the process and wait for its handler to be imported (the cold start)."""
        with self._lifecycle:
            if self._stopping:
                raise FunctionError(self.function.name, "Runtime.ExitError", STOPPING)
            self._connection, child_end = _SPAWN.Pipe()
            self._process = _SPAWN.Process(
                target=serve,
                args=(child_end, WorkerSpec.of(self.function, self.label)),
                name=self.label,
                # Ended with the stack even if it exits without stopping its workers.
                daemon=True,
            )
            self._process.start()
            self.pid = self._process.pid
            child_end.close()  # the worker holds the only other end: its death reads as end of file
        limit = max(INIT_LIMIT_SECONDS, self.function.timeout)
        try:
            reply = self._reply(limit)
        except TimeoutError:
            log.error("%s (pid %s) init timed out after %.2f s: killed", self.label, self.pid, limit)
            self.stop()
            raise FunctionError(
                self.function.name, "Sandbox.Timedout", f"Init timed out after {limit:.2f} seconds"
            ) from None
        except _Ended as ended:
            log.error("%s (pid %s) exited while importing its handler: %s", self.label, self.pid, ended)
            raise FunctionError(
                self.function.name, "Runtime.ExitError", f"Runtime exited with error: {ended}"
            ) from None
        if reply[0] == "error":
            _, error_type, message, trace = reply
            log.error("%s (pid %s) cannot import %s\n%s", self.label, self.pid, self.function.handler, trace)
            self.stop()
            raise FunctionError(self.function.name, error_type, message)
        log.info(
            "%s (pid %s) started: %s imported in %.2f s",
            self.label,
            self.pid,
            self.function.handler,
            reply[1],
        )

    def run(self, payload: str, request_id: str) -> str:
        """The invocation's result as JSON text; ``FunctionError`` as Lambda reports a failure."""
        started = time.monotonic()
        timeout = self.function.timeout
        try:
            if self._connection is None:
                raise _Ended("not started")
            with contextlib.suppress(OSError):  # a dead worker: waiting for its answer says how it ended
                self._connection.send((payload, request_id))
            reply = self._reply(timeout + TIMEOUT_MARGIN_SECONDS)
        except TimeoutError:
            message = f"Task timed out after {timeout:.2f} seconds"
            log.error("%s (pid %s) request %s: %s; killed", self.label, self.pid, request_id, message)
            self.stop()
            raise FunctionError(self.function.name, "Sandbox.Timedout", message) from None
        except _Ended as ended:
            log.error("%s (pid %s) exited during request %s: %s", self.label, self.pid, request_id, ended)
            raise FunctionError(
                self.function.name, "Runtime.ExitError", f"Runtime exited with error: {ended}"
            ) from None
        if reply[0] == "error":
            _, error_type, message, trace = reply
            log.error(
                "%s (pid %s) raised (request %s)\n%s", self.label, self.pid, request_id, trace or message
            )
            raise FunctionError(self.function.name, error_type, message)
        log.info(
            "%s (pid %s) ran request %s in %d ms",
            self.label,
            self.pid,
            request_id,
            (time.monotonic() - started) * 1000,
        )
        return str(reply[1])

    def _reply(self, limit: float) -> tuple[Any, ...]:
        """The worker's next answer; TimeoutError after ``limit`` seconds, ``_Ended`` if it died."""
        connection, process = self._connection, self._process
        if connection is None or process is None:
            raise _Ended("not started")
        ready = wait([connection, process.sentinel], timeout=limit)
        if not ready:
            raise TimeoutError
        if connection.poll():
            try:
                return tuple(connection.recv())
            except (EOFError, OSError):
                pass
        process.join(timeout=5)
        ending = _exit_description(process.exitcode)
        raise _Ended(f"{ending} ({STOPPING})" if self._stopping else ending)

    def stop(self) -> None:
        """End the process, whatever it is doing; an invocation it was running fails."""
        with self._lifecycle:
            self._stopping = True
            process = self._process
        if process is not None:
            with contextlib.suppress(ValueError):  # already closed by the thread that ran it
                process.kill()
                process.join(timeout=5)

    def close(self) -> None:
        """Stop the process and release its pipe, once no thread waits on either."""
        self.stop()
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            with contextlib.suppress(ValueError):  # still running if even a kill did not end it
                self._process.close()


def _exit_description(exitcode: int | None) -> str:
    """How Lambda describes a runtime's exit: ``exit status 3`` or ``signal: SIGSEGV``."""
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        try:
            return f"signal: {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal: {-exitcode}"
    return f"exit status {exitcode}"


class WorkerPool:
    """Up to ``size`` warm worker processes of one function, each serving one invocation at a time.

    An invocation takes an idle worker, or starts one while fewer than ``size`` exist, or waits
    for one to be free, as Lambda throttles a function at its concurrency. A worker that died
    or timed out is dropped and replaced on a later invocation.
    """

    def __init__(self, function: LambdaFunction, size: int) -> None:
        self.function = function
        self.size = size
        self._workers: set[Worker] = set()
        self._idle: list[Worker] = []
        self._started = 0
        self._stopped = False
        self._condition = threading.Condition()

    def invoke(self, payload: str, context: FakeLambdaContext | None) -> str:
        request_id = (context or self.function.new_context()).aws_request_id
        worker = self._acquire()
        try:
            return worker.run(payload, request_id)
        finally:
            self._release(worker)

    def stop(self) -> None:
        """Stop every worker; an invocation still running fails, and no new one starts."""
        with self._condition:
            self._stopped = True
            workers = list(self._workers)
            idle = list(self._idle)
            self._idle.clear()
            self._condition.notify_all()
        for worker in workers:
            worker.stop()
        for worker in idle:
            worker.close()

    def _acquire(self) -> Worker:
        with self._condition:
            while True:
                if self._stopped:
                    raise FunctionError(self.function.name, "Runtime.ExitError", STOPPING)
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._workers.discard(worker)
                    worker.close()
                if len(self._workers) < self.size:
                    self._started += 1
                    worker = Worker(self.function, self._started)
                    self._workers.add(worker)
                    break
                self._condition.wait()
        try:
            worker.start()
        except BaseException:
            self._drop(worker)
            raise
        return worker

    def _release(self, worker: Worker) -> None:
        with self._condition:
            if worker.alive and not self._stopped:
                self._idle.append(worker)
                self._condition.notify()
                return
        self._drop(worker)

    def _drop(self, worker: Worker) -> None:
        worker.close()
        with self._condition:
            self._workers.discard(worker)
            self._condition.notify()
