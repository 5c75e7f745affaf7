"""The API-token repository (DynamoDB ``TokensTable``): token digest -> tenant and its API key.

An item also holds ``apiKey``, the value of its tenant's API key in the API's usage plan: the
authorizer names it to API Gateway (``usageIdentifierKey``), which throttles each tenant on its
own. The value is no credential: with the API's key source set to the authorizer, a client
cannot present it, so it is stored as it is (the token only as its digest).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ingestion import aws
from ingestion.settings import get_settings
from ingestion.tokens import Caller, hash_token


class TokenRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def caller_for(self, token: str) -> Caller | None:
        """Who ``token`` acts for, or None for an unknown or disabled token."""
        item = self._table.get_item(Key={"tokenHash": hash_token(token)}).get("Item")
        if item is None or item.get("disabled"):
            return None
        return Caller(tenant_id=str(item["tenantId"]), api_key=item.get("apiKey"))

    def add(self, token: str, tenant_id: str, description: str = "", api_key: str | None = None) -> None:
        item = {
            "tokenHash": hash_token(token),
            "tenantId": tenant_id,
            "description": description,
            "createdAt": datetime.now(UTC).isoformat(),
        }
        if api_key is not None:
            item["apiKey"] = api_key
        self._table.put_item(Item=item)

    def set_api_key(self, tenant_id: str, api_key: str) -> int:
        """Give every token of ``tenant_id`` this API key (tokens issued before it had none);
        returns how many changed. Scans the table: an operator's step, never a request's."""
        changed = 0
        scan: dict[str, Any] = {
            "FilterExpression": "tenantId = :tenant",
            "ExpressionAttributeValues": {":tenant": tenant_id},
            "ProjectionExpression": "tokenHash, apiKey",
        }
        while True:
            page = self._table.scan(**scan)
            for item in page["Items"]:
                if item.get("apiKey") != api_key:
                    self._table.update_item(
                        Key={"tokenHash": item["tokenHash"]},
                        UpdateExpression="SET apiKey = :key",
                        ConditionExpression="attribute_exists(tokenHash)",
                        ExpressionAttributeValues={":key": api_key},
                    )
                    changed += 1
            if "LastEvaluatedKey" not in page:
                return changed
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get_token_repository() -> TokenRepository:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    return TokenRepository(aws.table(get_settings().tokens_table))
