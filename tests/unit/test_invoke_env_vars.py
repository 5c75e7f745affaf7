"""events/local-env.json: the ``sam local invoke --env-vars`` file, made from the template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from local_stack.functions import functions_from_template
from local_stack.invoke import DOCKER_ENDPOINT, ENV_VARS_FILE, env_vars, env_vars_text
from local_stack.stack_context import StackContext
from local_stack.template import Template

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_file_is_what_the_template_gives_now():
    assert ENV_VARS_FILE == ROOT / "events" / "local-env.json"
    assert ENV_VARS_FILE.read_text() == env_vars_text(), (
        "events/local-env.json is stale: regenerate it with "
        ".venv/bin/python -m local_stack.invoke --env-vars > events/local-env.json"
    )


def test_each_function_gets_the_local_stacks_values_of_the_variables_its_template_declares():
    document = env_vars()
    template = Template.load(ROOT / "template.yaml", StackContext(endpoint_url=DOCKER_ENDPOINT))
    functions = functions_from_template(template)

    assert list(document) == ["Parameters", *functions]
    for logical_id, function in functions.items():
        # SAM applies a value only to a variable the template declares for the function.
        assert set(document[logical_id]) == set(function.environment), logical_id
    entry = document["EntryFunction"]
    assert entry["DATA_BUCKET"] == "ingestion-data-123456789012-local"
    assert entry["GLUE_DATABASE"] == "ingestion_local"
    assert entry["COLLECTIONS_TABLE"] == "ingestion-local-CollectionsTable"
    assert entry["PURGE_QUEUE_URL"] == f"{DOCKER_ENDPOINT}/123456789012/ingestion-local-PurgeQueue"
    # The template's own endpoint variable (empty in AWS) is the one SAM sets: every function
    # reaches the local stack through it.
    assert {document[logical_id]["LOCAL_AWS_ENDPOINT_URL"] for logical_id in functions} == {DOCKER_ENDPOINT}
    # The local stack's queues come back after 30 s, so a processing lease ends before that.
    assert int(document["ValidatorFunction"]["PROCESSING_LEASE_SECONDS"]) < 30
    assert document["Parameters"] == {
        "AWS_ENDPOINT_URL": DOCKER_ENDPOINT,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def test_the_command_prints_it_whatever_the_environment_and_takes_another_endpoint():
    environment = os.environ | {
        "AWS_REGION": "eu-west-1",
        "AWS_PORT": "5999",
        "LOCAL_PARAMETER_OVERRIDES": "ExportRetentionDays=1",
    }
    command = [sys.executable, "-m", "local_stack.invoke", "--env-vars"]
    shipped = subprocess.run(  # noqa: S603 (our own command line)
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    other = subprocess.run(  # noqa: S603 (our own command line)
        [*command, "--endpoint", "http://127.0.0.1:5000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert shipped.stdout == ENV_VARS_FILE.read_text()
    document = json.loads(other.stdout)
    assert document["Parameters"]["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert document["EntryFunction"]["EXPORT_QUEUE_URL"].startswith("http://127.0.0.1:5000/")
