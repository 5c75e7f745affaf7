"""The stack, in-process: resources from template.yaml on moto, handlers from functions/,
events from events/. Tests speak to it as API Gateway, S3 and SQS would."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3

from ingestion import aws
from ingestion.repositories.tokens import TokenRepository
from local_stack.functions import LambdaFunction, functions_from_template, runtime_environment
from local_stack.gateway import api_from_template
from local_stack.resources import create_resources
from local_stack.stack_context import StackContext
from local_stack.template import Template
from local_stack.triggers import sqs_event

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
# Ids the sample events carry, replaced by each test's own.
SAMPLE_COLLECTION_ID = "01jd3k7q9x0m5r2c8v4b6n1t3e"
SAMPLE_REQUEST_ID = "01jd3k8a2b3c4d5e6f7g8h9j0k"
SAMPLE_EXPORT_ID = "01jd3k9b3c4d5e6f7g8h9j0k1m"
# A declared data type the tests use (the body of PUT .../data/leads).
LEADS = {
    "fields": [
        {"name": "id", "type": "string", "required": True},
        {"name": "score", "type": "number"},
        {"name": "updatedAt", "type": "datetime"},
    ],
    "key": "id",
    "versionField": "updatedAt",
}
FUNCTION_IDS = {
    "entry": "EntryFunction",
    "status": "StatusFunction",
    "authorizer": "AuthorizerFunction",
    "validator": "ValidatorFunction",
    "dead_letter": "DeadLetterFunction",
    "upload_expiry": "UploadExpiryFunction",
    "tables": "TablesFunction",
    "export": "ExportFunction",
    "purge": "PurgeFunction",
    "maintenance": "MaintenanceFunction",
}


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def multipart_body(fields: dict[str, str], file: tuple[str, bytes] | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body as ``requests`` would send it, and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    if file is not None:
        name, content = file
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: text/csv\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Stack:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.template = Template.load(ROOT / "template.yaml", StackContext.from_environment(endpoint))
        self.names = create_resources(self.template, endpoint)
        self.functions: dict[str, LambdaFunction] = functions_from_template(self.template)
        self.bucket = self.names["DataBucket"]
        self.token = "dev-token"
        self.sample_csv = (EVENTS / "deals.csv").read_bytes()
        # Which function API Gateway hands each route to, as the template's Api events say.
        api = api_from_template(self.template)
        self.routes = {(route.method, route.resource): route.function_id for route in api.routes}

    def environment(self) -> dict[str, str]:
        variables: dict[str, str] = {}
        for function in self.functions.values():
            variables.update(function.environment)
        variables.update(runtime_environment(self.endpoint, self.template.context.region))
        return variables

    def seed_token(self, tenant: str = "dev") -> None:
        TokenRepository(aws.table(self.names["TokensTable"])).add(self.token, tenant)

    # ----------------------------------------------------------------- AWS clients

    @cached_property
    def s3(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint)

    @cached_property
    def sqs(self) -> Any:
        return boto3.client("sqs", endpoint_url=self.endpoint)

    @cached_property
    def dynamodb(self) -> Any:
        return boto3.resource("dynamodb", endpoint_url=self.endpoint)

    # ----------------------------------------------------------------- events and functions

    def event(self, name: str, **values: str) -> dict[str, Any]:
        """A sample event from events/, its ids, bucket and key replaced."""
        text = (EVENTS / name).read_text()
        replacements = {
            "collection_id": SAMPLE_COLLECTION_ID,
            "request_id": SAMPLE_REQUEST_ID,
            "bucket": "ingestion-data-123456789012-local",
        }
        for field, sample in replacements.items():
            if field in values:
                text = text.replace(sample, values[field])
        event = json.loads(text)
        if "key" in values:
            for record in _s3_records(event):
                record["s3"]["object"]["key"] = values["key"].replace(" ", "+")
            if event["Records"][0].get("eventSource") == "aws:sqs":
                body = json.loads(event["Records"][0]["body"])
                for record in body["Records"]:
                    record["s3"]["bucket"]["name"] = values.get("bucket", record["s3"]["bucket"]["name"])
                    record["s3"]["object"]["key"] = values["key"].replace(" ", "+")
                event["Records"][0]["body"] = json.dumps(body)
        return event

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self.functions[FUNCTION_IDS[function]].invoke(event)

    def authorize(self, header: str) -> dict[str, Any]:
        return self.invoke("authorizer", self.event("authorizer.json") | {"authorizationToken": header})

    def call_api(
        self,
        event_name: str,
        *,
        collection_id: str | None = None,
        data_type: str | None = None,
        request_id: str | None = None,
        export_id: str | None = None,
        body: Any = None,
        raw_body: str | None = None,
        multipart: tuple[bytes, str] | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        tenant: str = "dev",
    ) -> ApiResponse:
        """Call the function behind a sample API event's route with it, as API Gateway would."""
        event = self.event(event_name)
        parameters = {
            "collectionId": collection_id,
            "dataType": data_type,
            "requestId": request_id,
            "exportId": export_id,
        }
        path = event["resource"]
        for name, value in parameters.items():
            if event.get("pathParameters") and name in event["pathParameters"]:
                event["pathParameters"][name] = value if value is not None else event["pathParameters"][name]
                path = path.replace("{" + name + "}", event["pathParameters"][name])
        event["path"] = path
        event["requestContext"]["authorizer"] = {"principalId": tenant, "tenantId": tenant}
        if body is not None or raw_body is not None:
            event["body"] = raw_body if raw_body is not None else json.dumps(body)
        if multipart is not None:
            content, content_type = multipart
            event["body"] = base64.b64encode(content).decode()
            event["isBase64Encoded"] = True
            event["headers"]["Content-Type"] = content_type
            event["multiValueHeaders"]["Content-Type"] = [content_type]
        for name, value in (headers or {}).items():
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]
        if query is not None:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
        function = self.functions[self.routes[(event["httpMethod"], event["resource"])]]
        response = function.invoke(event)
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = values[-1]
        return ApiResponse(status=response["statusCode"], headers=headers, body=response["body"])

    def create_collection(self, tenant: str = "dev", name: str = "CRM deals") -> str:
        response = self.call_api("create_collection.json", body={"name": name}, tenant=tenant)
        assert response.status == 201, response.body
        return response.json["id"]

    def append_file(
        self, collection_id: str, name: str, content: bytes, data_type: str = "deals", **fields: str
    ) -> str:
        """Post a file to the append route as a multipart form; the queued request's id."""
        body, content_type = multipart_body(fields=fields, file=(name, content))
        response = self.call_api(
            "append_request.json",
            collection_id=collection_id,
            data_type=data_type,
            multipart=(body, content_type),
        )
        assert response.status == 202, response.body
        return response.json["id"]

    def request_upload_url(
        self, collection_id: str, data_type: str = "deals", tenant: str = "dev", **options: Any
    ) -> dict[str, Any]:
        """Ask the upload-URL route for a URL to PUT a file to, with these options; its answer."""
        response = self.call_api(
            "upload_url_request.json",
            collection_id=collection_id,
            data_type=data_type,
            body=options,
            tenant=tenant,
        )
        assert response.status == 201, response.body
        return response.json

    def run_upload_expiry(self) -> list[str]:
        """Run the scheduled upload-expiry function once; the ids of the requests it ended."""
        return self.invoke("upload_expiry", self.event("upload_expiry_schedule.json"))["expired"]

    def poll(self, collection_id: str, request_id: str, data_type: str = "deals") -> dict[str, Any]:
        response = self.call_api(
            "status_request.json", collection_id=collection_id, data_type=data_type, request_id=request_id
        )
        assert response.status == 200, response.body
        return response.json

    # ----------------------------------------------------------------- notifications

    def deliver_notifications(self) -> int:
        """Hand every queued S3 notification to the validator, as the SQS event source would.

        Returns the number of notifications of new files delivered (S3's test events aside).
        """
        queue_url = self.names["IngestQueue"]
        delivered = 0
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return delivered
            message = messages[0]
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if "Records" not in json.loads(message["Body"]):
                continue
            event = self.event("sqs_s3_put.json")
            event["Records"][0] |= {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
            }
            result = self.invoke("validator", event)
            assert result == {"batchItemFailures": []}, result
            delivered += 1

    def purge_notifications(self) -> None:
        self.sqs.purge_queue(QueueUrl=self.names["IngestQueue"])

    def deliver_jobs(self, queue: str, function: str) -> list[Any]:
        """Hand every message queued on ``queue`` (a logical id) to ``function``, as the SQS event
        source would, one per invocation; what each invocation answered. A message whose
        invocation failed stays in the queue (invisible until its visibility timeout)."""
        queue_url = self.names[queue]
        queue_arn = self.template.get_att(queue, "Arn")
        answers = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return answers
            answer = self.invoke(function, sqs_event(messages, queue_arn))
            if not answer.get("batchItemFailures"):
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            answers.append(answer)

    def run_purges(self) -> list[Any]:
        """Purge every collection whose deletion is queued."""
        return self.deliver_jobs("PurgeQueue", "purge")

    def run_exports(self) -> list[Any]:
        """Write every export that is queued."""
        return self.deliver_jobs("ExportQueue", "export")

    # ----------------------------------------------------------------- stored state

    @property
    def upload_requests(self) -> Any:
        return self.dynamodb.Table(self.names["UploadRequestsTable"])

    def upload_request_count(self) -> int:
        return self.upload_requests.scan(Select="COUNT")["Count"]

    def delete_upload_request(self, collection_id: str, request_id: str) -> None:
        self.upload_requests.delete_item(Key={"collectionKey": f"{collection_id}#deals", "id": request_id})

    def expire_leases(self, collection_id: str, request_id: str) -> None:
        self.upload_requests.update_item(
            Key={"collectionKey": f"{collection_id}#deals", "id": request_id},
            UpdateExpression="SET leaseExpiresAt = :past",
            ExpressionAttributeValues={":past": 0},
        )

    def table_rows(self, collection_id: str, data_type: str = "deals") -> dict[str, list[Any]] | None:
        """The merged rows of a collection's data type, column by column; None if it has none."""
        from pyiceberg.exceptions import NoSuchTableError

        from ingestion.dataplane import get_catalog, table_identifier
        from ingestion.settings import get_settings

        settings = get_settings()
        try:
            table = get_catalog(settings).load_table(table_identifier(settings, collection_id, data_type))
        except NoSuchTableError:
            return None
        return table.scan().to_arrow().to_pydict()


def _s3_records(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [record for record in event.get("Records", []) if record.get("eventSource") == "aws:s3"]
