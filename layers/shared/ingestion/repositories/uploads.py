"""The upload-request repository (DynamoDB ``UploadRequestsTable``).

Every status change is a conditional write, so a duplicate or late notification can never
move a request backwards:

    queued --start--> in_progress --finish--> completed | error
                      in_progress (lease expired) --start--> in_progress (next attempt)
    queued | in_progress --fail (dead letter)--> error
    in_progress --release (the attempt failed)--> in_progress, lease expired
    in_progress --report_progress--> in_progress, processedLines as far as the attempt read
    queued, awaiting its file past its upload URL --expire_upload_url--> error

``finish`` writes a record bounded by construction (:mod:`ingestion.summaries`), so that it
cannot fail on DynamoDB's item size after the merge committed.

A request given an upload URL waits for its file in the sparse index ``AwaitingFile``: its
item carries ``awaitingFile`` and ``awaitingFileUntil`` (when the URL expires, in epoch
seconds) from its creation until it starts or ends, and no other item does, so finding the
requests whose file never came reads only those, never the table.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic.alias_generators import to_camel, to_snake

from ingestion import aws
from ingestion.domain import UploadOutcome, UploadRequest, UploadStatus
from ingestion.errors import InvalidInput, StatusConflict, UploadRequestNotFound
from ingestion.identifiers import is_ulid
from ingestion.settings import get_settings

_NOT_STORED = {"lease_expires_at"}
AWAITING_FILE_INDEX = "AwaitingFile"
# The index's partition: every waiting request is in it (the index holds only those).
_AWAITING_FILE = "upload-url"
# A DynamoDB number holds 38 digits, maxBadRecords any whole number: a tolerance beyond any
# file's row count means the same as this one.
MAX_STORED_BAD_RECORDS = 10**18


def collection_key(collection_id: str, data_type: str) -> str:
    return f"{collection_id}#{data_type}"


def delete_data_type_items(table: Any, collection_id: str, data_type: str) -> int:
    """Delete every item of a collection's data type from a table keyed ``(collectionKey, id)``
    (upload requests, exports); how many there were."""
    from boto3.dynamodb.conditions import Key  # boto3 is imported by the first client, not here

    query: dict[str, Any] = {
        "KeyConditionExpression": Key("collectionKey").eq(collection_key(collection_id, data_type)),
        "ProjectionExpression": "collectionKey, id",
    }
    deleted = 0
    with table.batch_writer() as batch:
        while True:
            page = table.query(**query)
            for item in page["Items"]:
                batch.delete_item(Key={"collectionKey": item["collectionKey"], "id": item["id"]})
                deleted += 1
            if "LastEvaluatedKey" not in page:
                return deleted
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class UploadRequestRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, request: UploadRequest) -> bool:
        """Store a new request; False if one with this id already exists (left untouched)."""
        try:
            self._table.put_item(Item=_to_item(request), ConditionExpression="attribute_not_exists(id)")
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def find(self, collection_id: str, data_type: str, request_id: str) -> UploadRequest | None:
        if not is_ulid(request_id):
            return None  # not an id this service issued (and maybe too long for a DynamoDB key)
        item = self._table.get_item(
            Key={"collectionKey": collection_key(collection_id, data_type), "id": request_id},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else _to_request(item)

    def get(self, collection_id: str, data_type: str, request_id: str) -> UploadRequest:
        request = self.find(collection_id, data_type, request_id)
        if request is None:
            raise UploadRequestNotFound(request_id)
        return request

    def list_newest_first(
        self, collection_id: str, data_type: str, limit: int, next_token: str | None
    ) -> tuple[list[UploadRequest], str | None]:
        from boto3.dynamodb.conditions import Key  # boto3 is imported by the first client, not here

        query: dict[str, Any] = {
            "KeyConditionExpression": Key("collectionKey").eq(collection_key(collection_id, data_type)),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if next_token:
            query["ExclusiveStartKey"] = _decode_page_token(
                next_token, collection_key(collection_id, data_type)
            )
        page = self._table.query(**query)
        last_key = page.get("LastEvaluatedKey")
        token = base64.urlsafe_b64encode(json.dumps(last_key).encode()).decode() if last_key else None
        return [_to_request(item) for item in page["Items"]], token

    def waiting_for_file(self, expired_before: datetime, limit: int) -> list[UploadRequest]:
        """Requests still waiting for their file whose upload URL expired before that time,
        the longest expired first (at most ``limit``)."""
        from boto3.dynamodb.conditions import Key

        query: dict[str, Any] = {
            "IndexName": AWAITING_FILE_INDEX,
            "KeyConditionExpression": Key("awaitingFile").eq(_AWAITING_FILE)
            & Key("awaitingFileUntil").lt(_epoch(expired_before)),
        }
        found: list[UploadRequest] = []
        while len(found) < limit:
            page = self._table.query(**query, Limit=limit - len(found))
            found.extend(_to_request(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    def start(
        self, request: UploadRequest, now: datetime, lease_seconds: int, size_bytes: int | None = None
    ) -> UploadRequest:
        """Claim the request for one processing attempt (queued, or in_progress but abandoned).

        The request stops waiting for its file, and ``size_bytes`` (the file's, as it arrived)
        replaces the size recorded so far.
        """
        size = ", sizeBytes = :size" if size_bytes is not None else ""
        try:
            response = self._table.update_item(
                Key=_key(request),
                # The attempt number counts in the record: a caller holding an old copy of the
                # request still gets a number no other attempt has.
                UpdateExpression=(
                    f"SET #status = :in_progress, startedDatetime = :now, leaseExpiresAt = :lease{size} "
                    "ADD attempt :one REMOVE message, awaitingFile, awaitingFileUntil"
                ),
                ConditionExpression=(
                    "#status = :queued OR (#status = :in_progress AND leaseExpiresAt < :epoch)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":in_progress": UploadStatus.IN_PROGRESS.value,
                    ":queued": UploadStatus.QUEUED.value,
                    ":one": 1,
                    ":now": now.isoformat(),
                    ":epoch": int(now.timestamp()),
                    ":lease": int(now.timestamp()) + lease_seconds,
                    **({":size": size_bytes} if size_bytes is not None else {}),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise StatusConflict(f"upload request {request.id} is not waiting to be processed") from None
            raise
        return _to_request(response["Attributes"])

    def finish(self, request: UploadRequest, outcome: UploadOutcome, now: datetime) -> UploadRequest:
        """Record the outcome of the attempt that holds the request (``request.attempt``)."""
        values = {
            "status": outcome.status.value,
            "message": outcome.message,
            "processedLines": outcome.processed_lines,
            "rowsInserted": outcome.rows_inserted,
            "rowsUpdated": outcome.rows_updated,
            "rowsRejected": outcome.rows_rejected,
            "warnings": outcome.warnings,
            "validationErrors": [
                issue.model_dump(mode="json", exclude_none=True) for issue in outcome.validation_errors
            ]
            or None,
            "validationErrorCount": outcome.validation_error_count,
            "finishedDatetime": now.isoformat(),
        }
        return self._finalise(
            request,
            values,
            condition="#status = :in_progress AND attempt = :attempt",
            condition_values={":in_progress": UploadStatus.IN_PROGRESS.value, ":attempt": request.attempt},
        )

    def report_progress(self, request: UploadRequest, processed_lines: int) -> bool:
        """Record how far the attempt that holds the request has read; False if it no longer holds it."""
        return self._update_held(request, "SET processedLines = :lines", {":lines": processed_lines})

    def release(self, request: UploadRequest) -> bool:
        """End the lease of the attempt that holds the request, so the next delivery takes over
        at once; False if that attempt no longer holds it."""
        return self._update_held(request, "SET leaseExpiresAt = :expired", {":expired": 0})

    def _update_held(self, request: UploadRequest, expression: str, values: dict[str, Any]) -> bool:
        """Apply ``expression`` if the attempt of ``request`` still holds it; False if not."""
        try:
            self._table.update_item(
                Key=_key(request),
                UpdateExpression=expression,
                ConditionExpression="#status = :in_progress AND attempt = :attempt",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    **values,
                    ":in_progress": UploadStatus.IN_PROGRESS.value,
                    ":attempt": request.attempt,
                },
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def fail(self, request: UploadRequest, message: str, now: datetime) -> UploadRequest:
        """Mark a request that can no longer complete as ``error`` (used by the dead-letter path)."""
        return self._finalise(
            request,
            {"status": UploadStatus.ERROR.value, "message": message, "finishedDatetime": now.isoformat()},
            condition="#status IN (:queued, :in_progress)",
            condition_values={
                ":queued": UploadStatus.QUEUED.value,
                ":in_progress": UploadStatus.IN_PROGRESS.value,
            },
        )

    def expire_upload_url(
        self, request: UploadRequest, message: str, now: datetime, expired_before: datetime
    ) -> UploadRequest:
        """End ``error`` a request whose file never came: only while it is still queued and
        waiting for its file, with its upload URL expired before ``expired_before``."""
        return self._finalise(
            request,
            {"status": UploadStatus.ERROR.value, "message": message, "finishedDatetime": now.isoformat()},
            condition="#status = :queued AND awaitingFileUntil < :expired_before",
            condition_values={
                ":queued": UploadStatus.QUEUED.value,
                ":expired_before": _epoch(expired_before),
            },
        )

    def delete_all(self, collection_id: str, data_type: str) -> int:
        """Remove every upload request of a collection's data type (purging a deleted collection)."""
        return delete_data_type_items(self._table, collection_id, data_type)

    def _finalise(
        self, request: UploadRequest, values: dict[str, Any], condition: str, condition_values: dict[str, Any]
    ) -> UploadRequest:
        names = {"#status": "status"}
        assignments = []
        for index, (attribute, value) in enumerate(values.items()):
            names[f"#a{index}"] = attribute
            condition_values[f":v{index}"] = value
            assignments.append(f"#a{index} = :v{index}")
        try:
            response = self._table.update_item(
                Key=_key(request),
                UpdateExpression="SET "
                + ", ".join(assignments)
                + " REMOVE leaseExpiresAt, awaitingFile, awaitingFileUntil",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=condition_values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise StatusConflict(
                    f"upload request {request.id} was already finished or taken over"
                ) from None
            raise
        return _to_request(response["Attributes"])


def _key(request: UploadRequest) -> dict[str, str]:
    return {"collectionKey": collection_key(request.collection_id, request.data_type), "id": request.id}


def _to_item(request: UploadRequest) -> dict[str, Any]:
    data = request.model_dump(mode="json", exclude_none=True)
    item = {to_camel(name): value for name, value in data.items()}
    item["collectionKey"] = collection_key(request.collection_id, request.data_type)
    if request.max_bad_records is not None:
        item["maxBadRecords"] = min(request.max_bad_records, MAX_STORED_BAD_RECORDS)
    if request.awaiting_file_until is not None:
        item["awaitingFile"] = _AWAITING_FILE
        item["awaitingFileUntil"] = _epoch(request.awaiting_file_until)
    return item


def _to_request(item: dict[str, Any]) -> UploadRequest:
    fields = {
        to_snake(name): value for name, value in item.items() if name not in ("collectionKey", "awaitingFile")
    }
    for name in _NOT_STORED:
        fields.pop(name, None)
    fields = _plain(fields)
    if "awaiting_file_until" in fields:
        fields["awaiting_file_until"] = datetime.fromtimestamp(fields["awaiting_file_until"], UTC)
    return UploadRequest.model_validate(fields)


def _epoch(moment: datetime) -> int:
    return math.ceil(moment.timestamp())


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the entities hold ints."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if type(value).__name__ == "Decimal":
        return int(value)
    return value


def _decode_page_token(token: str, expected_key: str) -> dict[str, Any]:
    try:
        start_key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError):
        start_key = None
    if (
        not isinstance(start_key, dict)
        or start_key.get("collectionKey") != expected_key
        or "id" not in start_key
    ):
        raise InvalidInput(
            "nextToken", "nextToken is not valid for this listing; omit it to start from the newest"
        )
    return {"collectionKey": start_key["collectionKey"], "id": str(start_key["id"])}


def _is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def get_upload_request_repository() -> UploadRequestRepository:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    return UploadRequestRepository(aws.table(get_settings().upload_requests_table))
