"""The API-token repository (DynamoDB ``TokensTable``): token digest -> tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ingestion import aws
from ingestion.settings import get_settings
from ingestion.tokens import hash_token


class TokenRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def tenant_for(self, token: str) -> str | None:
        item = self._table.get_item(Key={"tokenHash": hash_token(token)}).get("Item")
        if item is None or item.get("disabled"):
            return None
        return str(item["tenantId"])

    def add(self, token: str, tenant_id: str, description: str = "") -> None:
        self._table.put_item(
            Item={
                "tokenHash": hash_token(token),
                "tenantId": tenant_id,
                "description": description,
                "createdAt": datetime.now(UTC).isoformat(),
            }
        )


def get_token_repository() -> TokenRepository:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    return TokenRepository(aws.table(get_settings().tokens_table))
