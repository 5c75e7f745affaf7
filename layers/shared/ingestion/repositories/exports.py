"""The exports repository (DynamoDB ``ExportsTable``).

Partition ``<collectionId>#<dataType>``, sort: the export id (a ULID). Every status change is
conditional, as for upload requests:

    queued --start--> in_progress --finish--> completed
                      in_progress --fail--> error
                      in_progress (lease expired) --start--> in_progress (next attempt)

An item lives as long as its file (``expiresAt``, epoch seconds, is the table's TTL attribute).
"""

from __future__ import annotations

import contextlib
import math
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic.alias_generators import to_camel, to_snake

from ingestion import aws
from ingestion.domain import Export, ExportStatus
from ingestion.errors import ExportNotFound, StatusConflict
from ingestion.identifiers import is_ulid
from ingestion.repositories.uploads import collection_key, delete_data_type_items
from ingestion.settings import get_settings

_NOT_ENTITY = ("collectionKey", "leaseExpiresAt", "expiresAt")


class ExportRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, export: Export, expires_at: datetime) -> None:
        item = _to_item(export) | {"expiresAt": math.ceil(expires_at.timestamp())}
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")

    def find(self, collection_id: str, data_type: str, export_id: str) -> Export | None:
        if not is_ulid(export_id):
            return None  # not an id this service issued
        item = self._table.get_item(
            Key={"collectionKey": collection_key(collection_id, data_type), "id": export_id},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else _to_export(item)

    def get(self, collection_id: str, data_type: str, export_id: str) -> Export:
        export = self.find(collection_id, data_type, export_id)
        if export is None:
            raise ExportNotFound(export_id)
        return export

    def start(self, export: Export, now: datetime, lease_seconds: int) -> Export:
        """Claim the export for one attempt: queued, or in_progress under an expired lease."""
        return self._update(
            export,
            "SET #status = :in_progress, startedAt = :now, leaseExpiresAt = :lease ADD attempt :one",
            condition="#status = :queued OR (#status = :in_progress AND leaseExpiresAt < :epoch)",
            values={
                ":in_progress": ExportStatus.IN_PROGRESS.value,
                ":queued": ExportStatus.QUEUED.value,
                ":now": now.isoformat(),
                ":lease": int(now.timestamp()) + lease_seconds,
                ":epoch": int(now.timestamp()),
                ":one": 1,
            },
        )

    def finish(self, export: Export, row_count: int, now: datetime) -> Export:
        """The attempt holding the export wrote its file."""
        return self._update(
            export,
            "SET #status = :completed, rowCount = :rows, finishedAt = :now REMOVE leaseExpiresAt",
            condition="#status = :in_progress AND attempt = :attempt",
            values={
                ":completed": ExportStatus.COMPLETED.value,
                ":rows": row_count,
                ":now": now.isoformat(),
                ":in_progress": ExportStatus.IN_PROGRESS.value,
                ":attempt": export.attempt,
            },
        )

    def fail(self, export: Export, message: str, now: datetime) -> Export:
        """End an export that can no longer complete as ``error``."""
        return self._update(
            export,
            "SET #status = :error, message = :message, finishedAt = :now REMOVE leaseExpiresAt",
            condition="#status IN (:queued, :in_progress)",
            values={
                ":error": ExportStatus.ERROR.value,
                ":message": message,
                ":now": now.isoformat(),
                ":queued": ExportStatus.QUEUED.value,
                ":in_progress": ExportStatus.IN_PROGRESS.value,
            },
        )

    def release(self, export: Export) -> None:
        """End the lease of the attempt holding the export: the next delivery takes over at once."""
        with contextlib.suppress(StatusConflict):  # another attempt holds it now
            self._update(
                export,
                "SET leaseExpiresAt = :expired",
                condition="#status = :in_progress AND attempt = :attempt",
                values={
                    ":expired": 0,
                    ":in_progress": ExportStatus.IN_PROGRESS.value,
                    ":attempt": export.attempt,
                },
            )

    def delete_all(self, collection_id: str, data_type: str) -> int:
        """Remove every export record of a collection's data type (purging a deleted collection)."""
        return delete_data_type_items(self._table, collection_id, data_type)

    def _update(self, export: Export, expression: str, condition: str, values: dict[str, Any]) -> Export:
        try:
            response = self._table.update_item(
                Key={
                    "collectionKey": collection_key(export.collection_id, export.data_type),
                    "id": export.id,
                },
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StatusConflict(
                    f"export {export.id} was finished or taken over by another attempt"
                ) from None
            raise
        return _to_export(response["Attributes"])


def _key(export: Export) -> dict[str, str]:
    return {"collectionKey": collection_key(export.collection_id, export.data_type), "id": export.id}


def _to_item(export: Export) -> dict[str, Any]:
    data = export.model_dump(mode="json", exclude_none=True)
    return {to_camel(name): value for name, value in data.items()} | {
        "collectionKey": collection_key(export.collection_id, export.data_type)
    }


def _to_export(item: dict[str, Any]) -> Export:
    fields = {to_snake(name): _plain(value) for name, value in item.items() if name not in _NOT_ENTITY}
    return Export.model_validate(fields)


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the entity holds ints."""
    return int(value) if type(value).__name__ == "Decimal" else value


def get_export_repository() -> ExportRepository:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    return ExportRepository(aws.table(get_settings().exports_table))
