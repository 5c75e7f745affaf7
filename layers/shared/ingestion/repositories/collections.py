"""The collections repository (DynamoDB ``CollectionsTable``).

A tenant's collections are listed from the ``ByTenant`` index (partition ``tenantId``, sorted
by ``id``: ids are ULIDs, so by creation time). A deleted collection keeps its item, marked with
``deletedAt``, until its data is purged: to its tenant it is gone at once (not found, not
listed), while processing can still tell an upload that it was deleted.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ingestion import aws
from ingestion.domain import Collection, DataTypeStats
from ingestion.errors import CollectionNotFound, InvalidInput
from ingestion.identifiers import is_ulid
from ingestion.settings import get_settings

TENANT_INDEX = "ByTenant"


class CollectionRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, collection: Collection) -> None:
        item = {
            "id": collection.id,
            "tenantId": collection.tenant_id,
            "name": collection.name,
            "createdAt": collection.created_at.isoformat(),
            "dataTypes": {},
        }
        # Ids are random ULIDs; the condition turns the astronomically unlikely clash into an
        # error instead of a silent overwrite of someone else's collection.
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")

    def find(self, collection_id: str) -> Collection | None:
        if not is_ulid(collection_id):
            # Every id this service issues is a ULID; anything else (a 3 KB path segment
            # included, which DynamoDB would refuse as a key) names no collection.
            return None
        item = self._table.get_item(Key={"id": collection_id}, ConsistentRead=True).get("Item")
        return None if item is None else _to_collection(item)

    def get_for_tenant(self, collection_id: str, tenant_id: str) -> Collection:
        """The collection, if it exists, belongs to the tenant and is not deleted; another
        tenant's, or a deleted one, is 'not found'."""
        collection = self.find(collection_id)
        if collection is None or collection.tenant_id != tenant_id or collection.deleted_at is not None:
            raise CollectionNotFound(collection_id)
        return collection

    def list_newest_first(
        self, tenant_id: str, limit: int, next_token: str | None
    ) -> tuple[list[Collection], str | None]:
        """A page of the tenant's collections, newest first, deleted ones left out; the token of
        the next page, None when there is none (so no page is ever empty but the only one)."""
        from boto3.dynamodb.conditions import Key  # boto3 is imported by the first client, not here

        query: dict[str, Any] = {
            "IndexName": TENANT_INDEX,
            "KeyConditionExpression": Key("tenantId").eq(tenant_id),
            "ScanIndexForward": False,
        }
        if next_token:
            query["ExclusiveStartKey"] = {"tenantId": tenant_id, "id": _decode_page_token(next_token)}
        items: list[dict[str, Any]] = []
        while len(items) <= limit:
            # One more than the page needs: it tells whether there is a next page.
            page = self._table.query(**query, Limit=limit + 1 - len(items))
            items.extend(item for item in page["Items"] if "deletedAt" not in item)
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        collections = [_to_collection(item) for item in items[:limit]]
        token = _page_token(collections[-1].id) if len(items) > limit else None
        return collections, token

    def mark_deleted(self, collection_id: str, now: datetime) -> bool:
        """Mark the collection deleted; False if it was already (or no longer exists)."""
        try:
            self._table.update_item(
                Key={"id": collection_id},
                UpdateExpression="SET deletedAt = :now",
                ConditionExpression="attribute_exists(id) AND attribute_not_exists(deletedAt)",
                ExpressionAttributeValues={":now": now.isoformat()},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def unmark_deleted(self, collection_id: str) -> None:
        """Undo :meth:`mark_deleted` (its purge could not be queued: the collection stays)."""
        self._table.update_item(
            Key={"id": collection_id},
            UpdateExpression="REMOVE deletedAt",
            ConditionExpression="attribute_exists(id)",
        )

    def clear_data_type(self, collection_id: str, data_type: str, first_request_id: str) -> None:
        """The rows of ``data_type`` were deleted: forget its row count, and note that uploads
        requested before ``first_request_id`` (time-ordered) belong to the deleted rows."""
        # A collection created before clearing existed has no map to set the entry in.
        self._table.update_item(
            Key={"id": collection_id},
            UpdateExpression="SET clearedDataTypes = if_not_exists(clearedDataTypes, :empty)",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeValues={":empty": {}},
        )
        self._table.update_item(
            Key={"id": collection_id},
            UpdateExpression="SET clearedDataTypes.#dt = :first REMOVE dataTypes.#dt",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeNames={"#dt": data_type},
            ExpressionAttributeValues={":first": first_request_id},
        )

    def delete(self, collection_id: str) -> None:
        """Remove the collection's item (the last step of purging it)."""
        self._table.delete_item(Key={"id": collection_id})

    def record_merge(self, collection_id: str, data_type: str, stats: DataTypeStats, sequence: int) -> bool:
        """Store a data type's row count after a merge, unless a later merge already did.

        ``sequence`` is the Iceberg snapshot sequence number: merges that finish out of
        order cannot overwrite a newer count with an older one. Nor can the merge of an upload
        requested before the data type's rows were deleted (its count is of the deleted table).
        Returns False if skipped.
        """
        value = {"rowCount": stats.row_count, "sequence": sequence}
        values: dict[str, Any] = {":value": value, ":sequence": sequence}
        condition = (
            "attribute_exists(id) AND (attribute_not_exists(dataTypes.#dt) OR dataTypes.#dt.#seq < :sequence)"
        )
        if stats.last_request_id:
            value["lastRequestId"] = stats.last_request_id
            condition += (
                " AND (attribute_not_exists(clearedDataTypes.#dt) OR clearedDataTypes.#dt <= :request)"
            )
            values[":request"] = stats.last_request_id
        if stats.last_updated:
            value["lastUpdated"] = stats.last_updated.isoformat()
        try:
            self._table.update_item(
                Key={"id": collection_id},
                UpdateExpression="SET dataTypes.#dt = :value",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#dt": data_type, "#seq": "sequence"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _to_collection(item: dict[str, Any]) -> Collection:
    return Collection(
        id=item["id"],
        tenant_id=item["tenantId"],
        name=item["name"],
        created_at=datetime.fromisoformat(item["createdAt"]),
        data_types={
            name: DataTypeStats(
                row_count=int(stats["rowCount"]),
                last_request_id=stats.get("lastRequestId"),
                last_updated=datetime.fromisoformat(stats["lastUpdated"])
                if stats.get("lastUpdated")
                else None,
            )
            for name, stats in item.get("dataTypes", {}).items()
        },
        deleted_at=datetime.fromisoformat(item["deletedAt"]) if item.get("deletedAt") else None,
        cleared_data_types={name: str(first) for name, first in (item.get("clearedDataTypes") or {}).items()},
    )


def _page_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode()


def _decode_page_token(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode())).get("after")
    except (binascii.Error, ValueError, AttributeError):
        after = None
    if not isinstance(after, str) or not is_ulid(after):
        raise InvalidInput(
            "nextToken", "nextToken is not valid for this listing; omit it to start from the newest"
        )
    return after


def get_collection_repository() -> CollectionRepository:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    return CollectionRepository(aws.table(get_settings().collections_table))
