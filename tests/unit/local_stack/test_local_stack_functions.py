"""Handlers loaded from their CodeUri and invoked the way the Lambda runtime invokes them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from local_stack_stubs import write_project

from local_stack.functions import (
    FakeLambdaContext,
    FunctionError,
    LambdaFunction,
    function_environment,
    functions_from_template,
    layer_paths,
    load_handler,
    runtime_environment,
)
from local_stack.template import Template


def write_handler(directory: Path, source: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "app.py").write_text(source)
    return directory


def test_two_app_modules_load_side_by_side(tmp_path: Path) -> None:
    first = write_handler(tmp_path / "first", "def lambda_handler(event, context):\n    return 'first'\n")
    second = write_handler(tmp_path / "second", "def lambda_handler(event, context):\n    return 'second'\n")

    handlers = [load_handler(first, "app.lambda_handler"), load_handler(second, "app.lambda_handler")]

    assert [handler({}, None) for handler in handlers] == ["first", "second"]


def test_handler_module_can_define_dataclasses(tmp_path: Path) -> None:
    # dataclasses look their module up in sys.modules while the module is still running.
    source = "from dataclasses import dataclass\n\n@dataclass\nclass Row:\n    id: int\n\n" + (
        "def lambda_handler(event, context):\n    return Row(1).id\n"
    )
    handler = load_handler(write_handler(tmp_path / "fn", source), "app.lambda_handler", "lambda_dc_app")

    assert handler({}, None) == 1


def test_fake_context_counts_down_from_the_timeout() -> None:
    context = FakeLambdaContext("orders", memory_limit_in_mb=512, timeout_seconds=2)

    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)

    assert 0 < context.get_remaining_time_in_millis() < first <= 2000
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:orders"
    assert context.memory_limit_in_mb == 512
    assert context.aws_request_id


def test_fake_context_satisfies_powertools_logger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = (
        "from aws_lambda_powertools import Logger\n"
        "logger = Logger(service='probe')\n\n"
        "@logger.inject_lambda_context\n"
        "def lambda_handler(event, context):\n"
        "    logger.info('hello')\n"
        "    return 'ok'\n"
    )
    handler = load_handler(write_handler(tmp_path / "fn", source), "app.lambda_handler", "lambda_pt_app")

    assert handler({}, FakeLambdaContext("probe-fn")) == "ok"
    assert '"function_name":"probe-fn"' in capsys.readouterr().out


def test_invoke_reports_a_handler_exception_as_a_function_error(tmp_path: Path) -> None:
    source = "def lambda_handler(event, context):\n    raise KeyError('missing')\n"
    function = LambdaFunction("Fn", "fn", "app.lambda_handler", write_handler(tmp_path / "fn", source))

    with pytest.raises(FunctionError) as raised:
        function.invoke({})

    assert raised.value.error_type == "KeyError"


def test_invoke_rejects_a_result_lambda_could_not_serialise(tmp_path: Path) -> None:
    source = "def lambda_handler(event, context):\n    return {'when': object()}\n"
    function = LambdaFunction("Fn", "fn", "app.lambda_handler", write_handler(tmp_path / "fn", source))

    with pytest.raises(FunctionError) as raised:
        function.invoke({})

    assert raised.value.error_type == "Runtime.MarshalError"


def test_invoke_passes_a_json_copy_of_the_event(tmp_path: Path) -> None:
    source = "def lambda_handler(event, context):\n    event['seen'] = True\n    return event\n"
    function = LambdaFunction("Fn", "fn", "app.lambda_handler", write_handler(tmp_path / "fn", source))
    event = {"n": 1}

    assert function.invoke(event) == {"n": 1, "seen": True}
    assert event == {"n": 1}


def test_import_error_becomes_a_function_error(tmp_path: Path) -> None:
    function = LambdaFunction(
        "Fn", "fn", "app.lambda_handler", write_handler(tmp_path / "fn", "import nope\n")
    )

    with pytest.raises(FunctionError) as raised:
        function.invoke({})

    assert raised.value.error_type == "Runtime.ImportModuleError"


def test_functions_take_their_settings_from_the_template(api_template: Template) -> None:
    functions = functions_from_template(api_template)

    echo = functions["EchoFunction"]
    assert echo.name == "ingestion-local-EchoFunction"
    assert (echo.timeout, echo.memory_size) == (20, 256)
    assert echo.code_uri == api_template.root / "functions" / "echo"
    assert function_environment(api_template, "EchoFunction") == {"SHARED": "from-globals"}


def test_layer_paths_come_from_the_layers_content_uri(tmp_path: Path) -> None:
    template_text = """
    Globals:
      Function:
        Layers: [!Ref Shared]
    Resources:
      Shared:
        Type: AWS::Serverless::LayerVersion
        Properties:
          ContentUri: layers/shared/
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: functions/fn/
          Handler: app.lambda_handler
    """
    template = Template.load(write_project(tmp_path, template_text, {"fn": "x = 1\n"}))
    (tmp_path / "layers" / "shared").mkdir(parents=True)

    assert layer_paths(template, "Fn") == [(tmp_path / "layers" / "shared").resolve()]


def test_runtime_environment_points_at_the_local_endpoint_with_fake_credentials() -> None:
    environment = runtime_environment("http://127.0.0.1:5000", "eu-west-1")

    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert environment["AWS_REGION"] == "eu-west-1"
    assert environment["AWS_ACCESS_KEY_ID"] == "testing"
    assert environment["POWERTOOLS_TRACE_DISABLED"] == "true"
