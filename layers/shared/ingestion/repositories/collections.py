"""The collections repository (DynamoDB ``CollectionsTable``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ingestion import aws
from ingestion.domain import Collection, DataTypeStats
from ingestion.errors import CollectionNotFound
from ingestion.identifiers import is_ulid
from ingestion.settings import get_settings


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
        """The collection, if it exists and belongs to the tenant; another tenant's is 'not found'."""
        collection = self.find(collection_id)
        if collection is None or collection.tenant_id != tenant_id:
            raise CollectionNotFound(collection_id)
        return collection

    def record_merge(self, collection_id: str, data_type: str, stats: DataTypeStats, sequence: int) -> bool:
        """Store a data type's row count after a merge, unless a later merge already did.

        ``sequence`` is the Iceberg snapshot sequence number: merges that finish out of
        order cannot overwrite a newer count with an older one. Returns False if skipped.
        """
        value = {"rowCount": stats.row_count, "sequence": sequence}
        if stats.last_request_id:
            value["lastRequestId"] = stats.last_request_id
        if stats.last_updated:
            value["lastUpdated"] = stats.last_updated.isoformat()
        try:
            self._table.update_item(
                Key={"id": collection_id},
                UpdateExpression="SET dataTypes.#dt = :value",
                ConditionExpression=(
                    "attribute_exists(id) AND "
                    "(attribute_not_exists(dataTypes.#dt) OR dataTypes.#dt.#seq < :sequence)"
                ),
                ExpressionAttributeNames={"#dt": data_type, "#seq": "sequence"},
                ExpressionAttributeValues={":value": value, ":sequence": sequence},
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
    )


def get_collection_repository() -> CollectionRepository:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    return CollectionRepository(aws.table(get_settings().collections_table))
