"""The ``sam local invoke --env-vars`` file that points every function at the local stack.

``sam local invoke`` runs a function in a container with the template's variables, whose
``!Ref``s it cannot resolve to the local stack's names. This file gives each function its
variables as the local stack resolves them (table, bucket, Glue database and queue names), and
under ``Parameters`` what every function needs to reach the local stack: its AWS endpoint, region
and dummy credentials. SAM applies a value from the file only to a variable the template declares
for the function.

events/local-env.json is ``python -m local_stack.invoke --env-vars``'s output, made from the
template with its parameters' defaults and the default AWS_PORT, so that it does not depend on
anyone's environment; ``--endpoint`` writes one for another address.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local_stack.config import PROJECT_ROOT, LocalStackConfig
from local_stack.functions import function_environment, runtime_environment
from local_stack.invoke.runner import function_ids, with_local_lease
from local_stack.stack_context import StackContext
from local_stack.template import Template

ENV_VARS_FILE = PROJECT_ROOT / "events" / "local-env.json"
# Where a container reaches `make run`'s AWS endpoint on Docker Desktop; with `--docker-network
# host` (Linux), http://127.0.0.1:5000.
DOCKER_ENDPOINT = "http://host.docker.internal:5000"
REGION = "us-east-1"
# What the functions read their AWS endpoint from under `sam local invoke` (ingestion.settings):
# AWS_ENDPOINT_URL itself is not a variable the template declares, so SAM would not set it.
ENDPOINT_VARIABLE = "LOCAL_AWS_ENDPOINT_URL"


def env_vars(
    template_path: str | Path = PROJECT_ROOT / "template.yaml", endpoint: str = DOCKER_ENDPOINT
) -> dict[str, Any]:
    """``{"Parameters": {...}, "<FunctionLogicalId>": {...}, ...}``, the functions in template order."""
    template = Template.load(template_path, StackContext(region=REGION, endpoint_url=endpoint))
    visibility = LocalStackConfig().visibility_timeout
    document: dict[str, Any] = {"Parameters": _shared(endpoint)}
    for logical_id in function_ids(template):
        variables = with_local_lease(function_environment(template, logical_id), visibility)
        if ENDPOINT_VARIABLE in variables:  # the template's own name for the endpoint, empty there
            variables[ENDPOINT_VARIABLE] = endpoint
        document[logical_id] = variables
    return document


def env_vars_text(
    template_path: str | Path = PROJECT_ROOT / "template.yaml", endpoint: str = DOCKER_ENDPOINT
) -> str:
    """The file's text, as shipped in events/local-env.json."""
    return json.dumps(env_vars(template_path, endpoint), indent=2) + "\n"


def _shared(endpoint: str) -> dict[str, str]:
    variables = runtime_environment(endpoint, REGION)
    # SAM sets AWS_SAM_LOCAL itself; tracing is off without an X-Ray daemon.
    variables.pop("AWS_SAM_LOCAL", None)
    return variables
