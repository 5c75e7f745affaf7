"""A tiny SAM project for the tests to write under tmp_path: an API, a TOKEN authorizer, an echo function.

The real handlers are not used here: these stubs make every behaviour of the local API
Gateway observable (the echo function answers with the event it received).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  StageName:
    Type: String
    Default: v1
Globals:
  Function:
    Runtime: python3.12
    Timeout: 20
    MemorySize: 256
    Environment:
      Variables:
        SHARED: from-globals
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref StageName
      BinaryMediaTypes: [multipart~1form-data, application~1octet-stream]
      Auth:
        DefaultAuthorizer: Tokens
        Authorizers:
          Tokens:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            Identity:
              Header: Authorization
              ReauthorizeEvery: 300
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: 401
          ResponseTemplates:
            application/json: '{"message": "who are you?"}'
        ACCESS_DENIED:
          StatusCode: 403
          ResponseTemplates:
            application/json: '{"message": "not for you"}'
        REQUEST_TOO_LARGE:
          StatusCode: 413
          ResponseTemplates:
            application/json: '{"message": "too big for API Gateway"}'
        DEFAULT_5XX:
          ResponseTemplates:
            application/json: '{"message": "failed; report $context.requestId"}'
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/authorizer/
      Handler: app.lambda_handler
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/echo/
      Handler: app.lambda_handler
      Events:
        GetItem:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /api/items/{itemId}
            Method: get
        GetItemPart:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /api/items/{itemId}/parts/{partId}
            Method: get
        PostItem:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /api/items
            Method: post
        Public:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /api/public
            Method: get
            Auth:
              Authorizer: NONE
"""

AUTHORIZER = """
CALLS = []


def lambda_handler(event, context):
    CALLS.append(event)
    token = event["authorizationToken"]
    if token == "Token boom":
        raise RuntimeError("the authorizer crashed")
    if token not in ("Token good", "Token deny", "Token narrow"):
        raise Exception("Unauthorized")
    api = event["methodArn"].split("/")[0]
    resource = event["methodArn"] if token == "Token narrow" else api + "/*"
    return {
        "principalId": "tenant-a",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Deny" if token == "Token deny" else "Allow",
                    "Resource": resource,
                }
            ],
        },
        "context": {"tenantId": "tenant-a", "admin": True, "quota": 5},
    }
"""

ECHO = """
import base64
import json


def lambda_handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "raise":
        raise ValueError("the function failed")
    if mode == "malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if mode == "binary":
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Single": "one", "X-Both": "single"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Both": ["multi"]},
        "body": json.dumps(
            {
                "event": event,
                "functionName": context.function_name,
                "remainingMillis": context.get_remaining_time_in_millis(),
            }
        ),
    }
"""


def write_project(root: Path, template: str, handlers: dict[str, str]) -> Path:
    """Write template.yaml and functions/<name>/app.py under ``root``; return the template's path."""
    for name, source in handlers.items():
        directory = root / "functions" / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "app.py").write_text(textwrap.dedent(source))
    path = root / "template.yaml"
    path.write_text(textwrap.dedent(template))
    return path
