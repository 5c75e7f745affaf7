"""Fixtures of the local stack's unit tests: the tiny project of ``local_stack_stubs``."""

from __future__ import annotations

from pathlib import Path

import pytest
from local_stack_stubs import AUTHORIZER, ECHO, TEMPLATE, write_project

from local_stack.functions import functions_from_template
from local_stack.gateway import ApiGateway, api_from_template
from local_stack.template import Template


@pytest.fixture
def api_template(tmp_path: Path) -> Template:
    return Template.load(write_project(tmp_path, TEMPLATE, {"authorizer": AUTHORIZER, "echo": ECHO}))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gateway(api_template: Template, clock: FakeClock) -> ApiGateway:
    return ApiGateway(
        api_from_template(api_template),
        functions_from_template(api_template),
        api_template.context,
        large_file_hint="drop it into s3://bucket/incoming/",
        clock=clock,
    )
