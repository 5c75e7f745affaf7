"""A function's worker processes: warm, isolated, several at once, and held to Lambda's limits."""

from __future__ import annotations

import os
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.functions import INVOCATION_PAYLOAD_LIMIT, FunctionError, LambdaFunction
from local_stack.workers import WorkerPool

HANDLER = """
import json
import os
import signal
import time
from pathlib import Path

import shared_settings

INVOCATIONS = 0


def lambda_handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    mode = event.get("mode")
    if mode == "raise":
        raise KeyError("missing")
    if mode == "exit":
        os._exit(3)
    if mode == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "sleep":
        Path(event["started"]).write_text(str(os.getpid()))
        time.sleep(event["seconds"])
    if mode == "unserialisable":
        return {"when": object()}
    if mode == "huge":
        return "x" * event["size"]
    if mode == "meet":
        meeting = Path(event["directory"])
        (meeting / str(os.getpid())).write_text("")
        deadline = time.time() + 10
        while len(list(meeting.iterdir())) < event["expected"] and time.time() < deadline:
            time.sleep(0.02)
        return {"pid": os.getpid(), "met": len(list(meeting.iterdir()))}
    return {
        "pid": os.getpid(),
        "invocations": INVOCATIONS,
        "variable": os.environ.get("WORKER_TEST_VARIABLE"),
        "layer": shared_settings.NAME,
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
    }
"""


@pytest.fixture
def function(tmp_path: Path) -> LambdaFunction:
    code = tmp_path / "functions" / "worker"
    code.mkdir(parents=True)
    (code / "app.py").write_text(textwrap.dedent(HANDLER))
    layer = tmp_path / "layers" / "shared"
    layer.mkdir(parents=True)
    (layer / "shared_settings.py").write_text("NAME = 'from the layer'\n")
    return LambdaFunction(
        "WorkerFunction", "local-worker", "app.lambda_handler", code, timeout=2, layer_paths=[layer]
    )


@pytest.fixture
def with_workers(function: LambdaFunction) -> Iterator[Callable[[int], LambdaFunction]]:
    """Gives the function a pool of worker processes of the given size, stopped after the test."""
    pools: list[WorkerPool] = []

    def give(size: int) -> LambdaFunction:
        function.workers = pool = WorkerPool(function, size)
        pools.append(pool)
        return function

    yield give
    for pool in pools:
        pool.stop()


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def in_parallel(invoke: Callable[[], Any], times: int) -> list[Any]:
    results: list[Any] = [None] * times

    def run(index: int) -> None:
        try:
            results[index] = invoke()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# --------------------------------------------------------------------------- one worker


def test_an_invocation_runs_in_a_warm_worker_process_of_its_own(
    with_workers: Callable[[int], LambdaFunction],
) -> None:
    function = with_workers(1)

    first, second = function.invoke({}), function.invoke({})

    assert first["pid"] != os.getpid()
    assert (second["pid"], second["invocations"]) == (first["pid"], 2)
    assert first["functionName"] == "local-worker"
    assert first["requestId"] != second["requestId"]


def test_a_worker_inherits_the_environment_and_imports_from_the_layers(
    with_workers: Callable[[int], LambdaFunction], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_TEST_VARIABLE", "set by the stack")
    function = with_workers(1)

    result = function.invoke({})

    assert (result["variable"], result["layer"]) == ("set by the stack", "from the layer")


def test_a_handler_exception_is_a_function_error_of_its_type(
    with_workers: Callable[[int], LambdaFunction],
) -> None:
    function = with_workers(1)

    with pytest.raises(FunctionError) as raised:
        function.invoke({"mode": "raise"})

    assert (raised.value.error_type, raised.value.error_message) == ("KeyError", "'missing'")


def test_a_result_lambda_could_not_serialise_is_a_marshal_error(
    with_workers: Callable[[int], LambdaFunction],
) -> None:
    function = with_workers(1)

    with pytest.raises(FunctionError) as raised:
        function.invoke({"mode": "unserialisable"})

    assert raised.value.error_type == "Runtime.MarshalError"


def test_a_result_over_lambdas_response_limit_is_refused(
    with_workers: Callable[[int], LambdaFunction],
) -> None:
    function = with_workers(1)

    with pytest.raises(FunctionError) as raised:
        function.invoke({"mode": "huge", "size": INVOCATION_PAYLOAD_LIMIT + 1})

    assert raised.value.error_type == "Function.ResponseSizeTooLarge"


def test_an_import_failure_fails_the_invocation_and_the_next_one_imports_afresh(
    with_workers: Callable[[int], LambdaFunction], function: LambdaFunction
) -> None:
    source = (function.code_uri / "app.py").read_text()
    (function.code_uri / "app.py").write_text("import missing_module\n")
    with_workers(1)
    with pytest.raises(FunctionError) as raised:
        function.invoke({})
    (function.code_uri / "app.py").write_text(source)

    result = function.invoke({})

    assert raised.value.error_type == "Runtime.ImportModuleError"
    assert "missing_module" in raised.value.error_message
    assert result["invocations"] == 1


@pytest.mark.parametrize(("mode", "ending"), [("exit", "exit status 3"), ("segfault", "signal: SIGSEGV")])
def test_a_worker_that_dies_fails_its_invocation_and_is_replaced(
    with_workers: Callable[[int], LambdaFunction], mode: str, ending: str
) -> None:
    function = with_workers(1)
    before = function.invoke({})["pid"]

    with pytest.raises(FunctionError) as died:
        function.invoke({"mode": mode})
    after = function.invoke({})

    assert died.value.error_type == "Runtime.ExitError"
    assert died.value.error_message == f"Runtime exited with error: {ending}"
    assert after["pid"] != before
    assert after["invocations"] == 1


def test_an_invocation_past_the_timeout_is_killed_with_its_worker(
    with_workers: Callable[[int], LambdaFunction], tmp_path: Path
) -> None:
    function = with_workers(1)
    started = tmp_path / "started"

    with pytest.raises(FunctionError) as timed_out:
        function.invoke({"mode": "sleep", "seconds": 60, "started": str(started)})

    assert timed_out.value.error_type == "Sandbox.Timedout"
    assert timed_out.value.error_message == "Task timed out after 2.00 seconds"
    assert not is_running(int(started.read_text()))
    assert function.invoke({})["invocations"] == 1


# --------------------------------------------------------------------------- several workers


def test_invocations_run_at_once_in_as_many_workers_as_the_pool_allows(
    with_workers: Callable[[int], LambdaFunction], tmp_path: Path
) -> None:
    # Given a pool of two workers, and invocations that each wait for the other to be running
    function = with_workers(2)
    meeting = tmp_path / "meeting"
    meeting.mkdir()

    # When two are invoked together
    results = in_parallel(
        lambda: function.invoke({"mode": "meet", "directory": str(meeting), "expected": 2}), 2
    )

    # Then both ran at once, in two processes
    assert [result["met"] for result in results] == [2, 2]
    assert len({result["pid"] for result in results}) == 2


def test_invocations_beyond_the_pool_size_wait_for_a_free_worker(
    with_workers: Callable[[int], LambdaFunction],
) -> None:
    function = with_workers(2)

    results = in_parallel(lambda: function.invoke({}), 6)

    assert len({result["pid"] for result in results}) <= 2


# --------------------------------------------------------------------------- stopping


def test_stop_ends_every_worker_and_fails_a_running_invocation(
    with_workers: Callable[[int], LambdaFunction], function: LambdaFunction, tmp_path: Path
) -> None:
    # Given one worker idle and another running a long invocation
    function.timeout = 60
    with_workers(2)
    idle = function.invoke({})["pid"]
    started = tmp_path / "started"
    failures: list[FunctionError] = []

    def invoke_long() -> None:
        try:
            function.invoke({"mode": "sleep", "seconds": 60, "started": str(started)})
        except FunctionError as error:
            failures.append(error)

    running = threading.Thread(target=invoke_long)
    running.start()
    for _ in range(400):
        if started.exists() and started.read_text():
            break
        running.join(timeout=0.05)
    busy = int(started.read_text())

    # When the pool stops
    assert function.workers is not None
    function.workers.stop()
    running.join(timeout=30)

    # Then neither process is left, the running invocation failed, and no new one starts
    assert not is_running(idle)
    assert not is_running(busy)
    assert [failure.error_type for failure in failures] == ["Runtime.ExitError"]
    with pytest.raises(FunctionError):
        function.invoke({})
