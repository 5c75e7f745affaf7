"""The stack's storage, queues and catalog, created on a local AWS endpoint from template.yaml.

``create_resources`` reads each supported resource's own properties from the template, so a
table's keys, a queue's redrive policy or the bucket's notification filter cannot drift from
what is deployed. Resource types with no local meaning (functions, layers, log groups, IAM,
bucket and queue policies) are skipped: the local stack runs the functions itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local_stack.creation_order import creation_order
from local_stack.dynamodb_atomicity import serialize_dynamodb_writes
from local_stack.glue_concurrency import guard_glue_table_versions
from local_stack.s3_notifications import complete_s3_notifications
from local_stack.sqs_atomicity import serialize_sqs_receives
from local_stack.stack_context import StackContext
from local_stack.template import Template

log = logging.getLogger(__name__)

# Credentials for the local endpoint only: whatever the developer has configured is never used.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class _Clients:
    endpoint: str
    region: str

    def __post_init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._cache:
            self._cache[service] = boto3.client(
                service, endpoint_url=self.endpoint, region_name=self.region, **LOCAL_CREDENTIALS
            )
        return self._cache[service]


def create_resources(
    template: Template | str | Path,
    endpoint: str,
    *,
    queue_visibility_timeout: int | None = None,
) -> dict[str, str]:
    """Create the template's tables, queues, buckets and Glue databases on ``endpoint``.

    Returns each created resource's logical id mapped to what ``!Ref`` gives for it in
    CloudFormation: the table, bucket or database name, or the queue URL.

    ``queue_visibility_timeout`` replaces every queue's VisibilityTimeout (the local stack
    shortens the template's value so that a failed message comes back in seconds, not hours).
    Resources that already exist under the same name are kept as they are.

    A bucket with notifications also makes a moto server running in this process send them
    in S3's complete shape (see ``local_stack.s3_notifications``), and a Glue database makes
    it refuse a table update from a stale version, as Glue does (see ``local_stack.glue_concurrency``).
    """
    if not isinstance(template, Template):
        template = Template.load(template, StackContext.from_environment(endpoint.rstrip("/")))
    clients = _Clients(endpoint.rstrip("/"), template.context.region)
    names: dict[str, str] = {}
    for logical_id in creation_order(template, template.resources_of_type(*_CREATORS)):
        kind = template.resource_type(logical_id)
        creator = _CREATORS[kind]
        names[logical_id] = creator(template, logical_id, clients, queue_visibility_timeout)
        log.debug("created %s %s: %s", kind, logical_id, names[logical_id])
    return names


# --------------------------------------------------------------------------- DynamoDB


def _create_table(template: Template, logical_id: str, clients: _Clients, _: int | None) -> str:
    properties = template.properties(logical_id)
    name = template.physical_name(logical_id)
    # The commit lock and the request records rely on conditional writes being atomic.
    serialize_dynamodb_writes()
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"))
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            _index(index, request["BillingMode"]) for index in properties["GlobalSecondaryIndexes"]
        ]
    if properties.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in properties["LocalSecondaryIndexes"]
        ]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    # SSE, point-in-time recovery and deletion protection have no local effect and are skipped.
    dynamodb = clients("dynamodb")
    try:
        dynamodb.create_table(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return name
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and _is_true(ttl.get("Enabled")):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    return name


def _throughput(spec: dict[str, Any] | None) -> dict[str, int]:
    spec = spec or {}
    return {
        "ReadCapacityUnits": int(spec.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(spec.get("WriteCapacityUnits", 5)),
    }


def _index(index: dict[str, Any], billing_mode: str) -> dict[str, Any]:
    result = {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
    if billing_mode == "PROVISIONED":
        result["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
    return result


# --------------------------------------------------------------------------- SQS

_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _create_queue(
    template: Template, logical_id: str, clients: _Clients, visibility_timeout: int | None
) -> str:
    # A message must go to one poller at a time, as in SQS, however many poll the queue.
    serialize_sqs_receives()
    properties = template.properties(logical_id)
    attributes = {key: properties[key] for key in _QUEUE_ATTRIBUTES if key in properties}
    if visibility_timeout is not None:
        attributes["VisibilityTimeout"] = visibility_timeout
    redrive = attributes.get("RedrivePolicy")
    if isinstance(redrive, dict) and "maxReceiveCount" in redrive:
        redrive = {**redrive, "maxReceiveCount": int(redrive["maxReceiveCount"])}
        attributes["RedrivePolicy"] = redrive
    request = {
        key: json.dumps(value) if isinstance(value, dict) else _attribute_string(value)
        for key, value in attributes.items()
    }
    sqs = clients("sqs")
    name = template.physical_name(logical_id)
    try:
        return sqs.create_queue(QueueName=name, Attributes=request)["QueueUrl"]
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=request)
        return url


def _attribute_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- S3


def _create_bucket(template: Template, logical_id: str, clients: _Clients, _: int | None) -> str:
    properties = template.properties(logical_id)
    name = template.physical_name(logical_id)
    s3 = clients("s3")
    request: dict[str, Any] = {"Bucket": name}
    if clients.region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": clients.region}
    try:
        s3.create_bucket(**request)
    except ClientError as error:
        # The local endpoint has one owner: an existing bucket of this name is ours.
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
    encryption = properties.get("BucketEncryption")
    if encryption:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {}),
            }
            for rule in encryption["ServerSideEncryptionConfiguration"]
            if "ServerSideEncryptionByDefault" in rule
        ]
        if rules:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    notifications = properties.get("NotificationConfiguration")
    if notifications:
        # moto's notifications lack fields S3 sends; complete them when moto runs in this process.
        complete_s3_notifications()
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration=bucket_notification_request(notifications)
        )
    # Lifecycle rules, public access blocks and bucket policies are not enforced locally.
    return name


def bucket_notification_request(notifications: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration in the shape of S3's PutBucketNotificationConfiguration.

    Lambda configurations are left out: the local stack's functions are not known to the
    local S3, which would silently drop their events.
    """
    request: dict[str, Any] = {}
    for kind, target, api_target in (
        ("QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "Topic", "TopicArn"),
    ):
        configurations = notifications.get(kind) or []
        if configurations:
            request[kind] = [
                {api_target: item[target], "Events": [item["Event"]], **_notification_filter(item)}
                for item in configurations
            ]
    if notifications.get("LambdaConfigurations"):
        log.warning("S3 -> Lambda notifications are not emulated; use an SQS queue between them")
    bridge = notifications.get("EventBridgeConfiguration")
    if bridge and _is_true(bridge.get("EventBridgeEnabled", True)):
        request["EventBridgeConfiguration"] = {}
    return request


def _notification_filter(item: dict[str, Any]) -> dict[str, Any]:
    rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    if not rules:
        return {}
    return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}}


# --------------------------------------------------------------------------- Glue


def _create_database(template: Template, logical_id: str, clients: _Clients, _: int | None) -> str:
    properties = template.properties(logical_id)
    name = template.physical_name(logical_id)
    database_input = {
        key: value
        for key, value in (properties.get("DatabaseInput") or {}).items()
        if key in ("Description", "LocationUri", "Parameters")
    }
    # Iceberg commits to the database's tables rely on Glue refusing a stale VersionId.
    guard_glue_table_versions()
    try:
        clients("glue").create_database(DatabaseInput={"Name": name, **database_input})
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyExistsException":
            raise
    return name


_CREATORS: dict[str, Callable[[Template, str, _Clients, int | None], str]] = {
    "AWS::DynamoDB::Table": _create_table,
    "AWS::SQS::Queue": _create_queue,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::Glue::Database": _create_database,
}

SUPPORTED_TYPES = tuple(_CREATORS)


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
