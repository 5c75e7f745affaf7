"""The service on one machine, without Docker: moto for AWS, the template's functions as local processes.

``make run`` starts it (``python -m local_stack``). Tests use its parts:

- ``create_resources(template, endpoint)`` builds the tables, queues, bucket and Glue database
  of template.yaml on a moto server and returns their names;
- ``FakeLambdaContext`` is the ``context`` a handler is called with;
- ``LocalStack`` runs the whole stack in-process on free ports (``LocalStack(api_port=0, aws_port=0)``).
"""

from local_stack.functions import FakeLambdaContext, LambdaFunction, load_handler
from local_stack.gateway import ApiGateway, GatewayServer, HttpRequest, HttpResponse, api_from_template
from local_stack.resources import create_resources
from local_stack.stack import LocalStack, LocalStackConfig
from local_stack.stack_context import StackContext
from local_stack.template import Template
from local_stack.triggers import SqsPoller, sqs_event, sqs_event_sources

__all__ = [
    "ApiGateway",
    "FakeLambdaContext",
    "GatewayServer",
    "HttpRequest",
    "HttpResponse",
    "LambdaFunction",
    "LocalStack",
    "LocalStackConfig",
    "SqsPoller",
    "StackContext",
    "Template",
    "api_from_template",
    "create_resources",
    "load_handler",
    "sqs_event",
    "sqs_event_sources",
]
