"""One invocation of one of the template's functions, as ``sam local invoke`` runs it, without Docker.

``make invoke FUNCTION=StatusFunction EVENT=events/list_collections.json`` (``python -m
local_stack.invoke StatusFunction events/list_collections.json``) runs the function's handler once
on the event: with the function's environment from template.yaml (Globals merged with its own,
parameters resolved as the local stack resolves them), its layers on ``sys.path``, against the
AWS endpoint of a ``make run`` answering on AWS_PORT, or else a throwaway moto server holding the
stack's tables, bucket, queues and Glue database. The handler's response goes to stdout as JSON;
everything the handler and the services log goes to stderr.

``python -m local_stack.invoke --env-vars`` prints the ``sam local invoke --env-vars`` file that
points the functions at the local stack (events/local-env.json is that output).
"""

from local_stack.invoke.env_vars import DOCKER_ENDPOINT, ENV_VARS_FILE, env_vars, env_vars_text
from local_stack.invoke.runner import Invocation, InvokeError, UsageError, invoke

__all__ = [
    "DOCKER_ENDPOINT",
    "ENV_VARS_FILE",
    "Invocation",
    "InvokeError",
    "UsageError",
    "env_vars",
    "env_vars_text",
    "invoke",
]
