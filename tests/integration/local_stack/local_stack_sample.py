"""A tiny SAM project for the local stack's integration tests to write under tmp_path.

It has every moving part of the real one (a TOKEN authorizer reading the tokens table, an API
function that writes into the bucket, a bucket notification to a queue with a dead-letter
queue, a worker, a dead-letter function and a scheduled function), with stub handlers that
record what they get under OUTPUT_DIR. The worker fails on purpose for keys containing ``raise`` (it raises),
``partial`` (it reports a batch item failure), ``exit`` (its process exits at once) or
``forever`` (it outlives any timeout). For keys containing ``slow`` (it sleeps a moment) or
``meet`` (it waits until another ``meet`` invocation is running too, or gives up after a while)
it records its process id and when it started and ended in ``timing-*.json``.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  OutputDir:
    Type: String
    Default: /nonexistent
  MaxReceiveCount:
    Type: Number
    Default: 2
  # Generous: on a loaded machine a worker's first import can take seconds, and a timed-out
  # first delivery would make the receive-count assertions flaky.
  WorkerTimeout:
    Type: Number
    Default: 60
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables:
        OUTPUT_DIR: !Ref OutputDir
        BUCKET: !Ref Bucket
        TOKENS_TABLE: !Ref TokensTable
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      BinaryMediaTypes: [application~1octet-stream]
      Auth:
        DefaultAuthorizer: Tokens
        Authorizers:
          Tokens:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            Identity:
              Header: Authorization
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: 401
          ResponseTemplates:
            application/json: '{"message": "send a token"}'
        REQUEST_TOO_LARGE:
          StatusCode: 413
          ResponseTemplates:
            application/json: '{"message": "over 10 MB"}'
  TokensTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: tokenHash
          AttributeType: S
      KeySchema:
        - AttributeName: tokenHash
          KeyType: HASH
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub sample-${AWS::AccountId}
      NotificationConfiguration:
        QueueConfigurations:
          - Event: s3:ObjectCreated:*
            Queue: !GetAtt IngestQueue.Arn
            Filter:
              S3Key:
                Rules:
                  - Name: prefix
                    Value: incoming/
  IngestQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 5400
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: !Ref MaxReceiveCount
  DeadLetters:
    Type: AWS::SQS::Queue
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/authorizer/
      Handler: app.lambda_handler
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api/
      Handler: app.lambda_handler
      Events:
        Echo:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /api/echo/{name}
            Method: get
        Upload:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /api/files/{name}
            Method: post
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker/
      Handler: app.lambda_handler
      Timeout: !Ref WorkerTimeout
      Events:
        Ingest:
          Type: SQS
          Properties:
            Queue: !GetAtt IngestQueue.Arn
            BatchSize: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
  DeadLetterFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/dead_letter/
      Handler: app.lambda_handler
      Events:
        DeadLetters:
          Type: SQS
          Properties:
            Queue: !GetAtt DeadLetters.Arn
            BatchSize: 10
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/tick/
      Handler: app.lambda_handler
      Events:
        EveryMinute:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
  WorkerLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /aws/lambda/${WorkerFunction}
"""

AUTHORIZER = """
import hashlib
import os

import boto3


def lambda_handler(event, context):
    token = event["authorizationToken"].removeprefix("Token ").strip()
    table = boto3.resource("dynamodb").Table(os.environ["TOKENS_TABLE"])
    item = table.get_item(Key={"tokenHash": hashlib.sha256(token.encode()).hexdigest()}).get("Item")
    if item is None:
        raise Exception("Unauthorized")
    api = event["methodArn"].split("/")[0]
    return {
        "principalId": item["tenantId"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": api + "/*"}],
        },
        "context": {"tenantId": item["tenantId"]},
    }
"""

API = """
import base64
import json
import os

import boto3


def lambda_handler(event, context):
    name = event["pathParameters"]["name"]
    if event["httpMethod"] == "POST":
        body = event["body"] or ""
        data = base64.b64decode(body) if event["isBase64Encoded"] else body.encode()
        boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=f"incoming/{name}", Body=data)
        return {"statusCode": 202, "body": json.dumps({"key": f"incoming/{name}", "size": len(data)})}
    tenant = event["requestContext"]["authorizer"]["tenantId"]
    return {"statusCode": 200, "body": json.dumps({"tenant": tenant, "name": name, "path": event["path"]})}
"""

WORKER = """
import json
import os
import time
from pathlib import Path

MEET_GIVES_UP_AFTER = 10  # seconds: long enough for another worker's cold start


def lambda_handler(event, context):
    output = Path(os.environ["OUTPUT_DIR"])
    failures = []
    for record in event["Records"]:
        count = record["attributes"]["ApproximateReceiveCount"]
        name = f"{record['messageId']}-{count}.json"
        (output / f"worker-{name}").write_text(json.dumps(record))
        body = json.loads(record["body"])
        if "Records" not in body:  # S3's s3:TestEvent
            continue
        key = body["Records"][0]["s3"]["object"]["key"]
        started = time.time()
        if "raise" in key:
            raise RuntimeError("cannot process " + key)
        if "partial" in key:
            failures.append({"itemIdentifier": record["messageId"]})
        if "exit" in key:
            os._exit(3)
        if "forever" in key:
            (output / f"forever-{name}").write_text(json.dumps({"pid": os.getpid()}))
            time.sleep(600)
        if "slow" in key:
            time.sleep(0.3)
        if "meet" in key:
            (output / f"meeting-{name}").write_text("")
            while len(list(output.glob("meeting-*"))) < 2 and time.time() < started + MEET_GIVES_UP_AFTER:
                time.sleep(0.02)
        if "slow" in key or "meet" in key:
            timing = {"key": key, "pid": os.getpid(), "start": started, "end": time.time()}
            (output / f"timing-{name}").write_text(json.dumps(timing))
    return {"batchItemFailures": failures}
"""

DEAD_LETTER = """
import json
import os
from pathlib import Path


def lambda_handler(event, context):
    for record in event["Records"]:
        (Path(os.environ["OUTPUT_DIR"]) / f"dead-{record['messageId']}.json").write_text(json.dumps(record))
"""

TICK = """
import json
import os
import uuid
from pathlib import Path


def lambda_handler(event, context):
    path = Path(os.environ["OUTPUT_DIR"]) / f"tick-{uuid.uuid4().hex}.json"
    path.with_suffix(".part").write_text(json.dumps(event))
    os.replace(path.with_suffix(".part"), path)  # whole, for a reader globbing tick-*.json
    return {"ticked": True}
"""

HANDLERS = {"authorizer": AUTHORIZER, "api": API, "worker": WORKER, "dead_letter": DEAD_LETTER, "tick": TICK}


def write_sample_project(root: Path) -> Path:
    """Write the sample project under ``root``; return its template's path."""
    for name, source in HANDLERS.items():
        directory = root / "functions" / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "app.py").write_text(textwrap.dedent(source))
    path = root / "template.yaml"
    path.write_text(TEMPLATE)
    return path


def wait_for(condition: Callable[[], object], timeout: float = 20.0, interval: float = 0.1) -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"still false after {timeout} s: {condition}")
