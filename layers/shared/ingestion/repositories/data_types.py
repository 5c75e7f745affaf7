"""The declared-data-types repository (DynamoDB ``DataTypesTable``).

Holds the data types a collection declared (``PUT .../data/{dataType}``); the built-in
``deals`` is defined in code and never stored here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ingestion import aws
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from ingestion.settings import get_settings


class DataTypeRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def find(self, collection_id: str, data_type: str) -> DataTypeSpec | None:
        item = self._table.get_item(
            Key={"collectionId": collection_id, "dataType": data_type}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _to_spec(item)

    def create(self, collection_id: str, spec: DataTypeSpec) -> bool:
        """Store a new declaration; False if the data type is already declared (left untouched)."""
        try:
            self._table.put_item(
                Item=_to_item(collection_id, spec) | {"createdAt": datetime.now(UTC).isoformat()},
                ConditionExpression="attribute_not_exists(dataType)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def replace_fields(self, collection_id: str, spec: DataTypeSpec) -> None:
        """Record the schema as the data now defines it (after inference or a field addition)."""
        self._table.put_item(
            Item=_to_item(collection_id, spec) | {"updatedAt": datetime.now(UTC).isoformat()}
        )

    def delete(self, collection_id: str, data_type: str) -> bool:
        """Remove a declaration; False if there was none."""
        response = self._table.delete_item(
            Key={"collectionId": collection_id, "dataType": data_type}, ReturnValues="ALL_OLD"
        )
        return "Attributes" in response

    def names(self, collection_id: str) -> list[str]:
        """The data types declared in a collection."""
        from boto3.dynamodb.conditions import Key  # boto3 is imported by the first client, not here

        query: dict[str, Any] = {
            "KeyConditionExpression": Key("collectionId").eq(collection_id),
            "ProjectionExpression": "dataType",
        }
        names: list[str] = []
        while True:
            page = self._table.query(**query)
            names.extend(str(item["dataType"]) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return names
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _to_item(collection_id: str, spec: DataTypeSpec) -> dict[str, Any]:
    return {
        "collectionId": collection_id,
        "dataType": spec.name,
        "fields": [{"name": f.name, "type": f.type.value, "required": f.required} for f in spec.fields],
        "key": spec.key,
        "versionField": spec.version_field,
        "inferSchema": spec.infer_schema,
    }


def _to_spec(item: dict[str, Any]) -> DataTypeSpec:
    return DataTypeSpec(
        name=item["dataType"],
        fields=tuple(
            FieldSpec(name=f["name"], type=FieldType(f["type"]), required=bool(f["required"]))
            for f in item.get("fields", [])
        ),
        key=item.get("key"),
        version_field=item.get("versionField"),
        infer_schema=bool(item.get("inferSchema")),
    )


def get_data_type_repository() -> DataTypeRepository:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    return DataTypeRepository(aws.table(get_settings().data_types_table))
