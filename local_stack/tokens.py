"""The development tokens the local stack seeds into the tokens table (DEV_TOKEN, DEV_TOKENS)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

try:
    from ingestion.tokens import hash_token
except ImportError:  # pragma: no cover - only before the shared package exists
    import hashlib

    # TODO(lead): ingestion.tokens.hash_token is the one definition; drop this fallback.
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


__all__ = ["hash_token", "local_api_key", "seed_token", "token_item"]


def local_api_key(tenant_id: str) -> str:
    """The tenant's API key here: one per tenant, as ``make token`` makes one in AWS. The local
    API Gateway throttles by it (LOCAL_THROTTLE) as a usage plan does."""
    return f"local-{tenant_id}"


def token_item(token: str, tenant_id: str) -> dict[str, str]:
    """The tokens-table item that lets ``token`` act for ``tenant_id`` (only its digest is stored)."""
    return {
        "tokenHash": hash_token(token),
        "tenantId": tenant_id,
        "apiKey": local_api_key(tenant_id),
        "description": "local stack development token",
        "createdAt": datetime.now(UTC).isoformat(),
    }


def seed_token(dynamodb_client: Any, table_name: str, token: str, tenant_id: str) -> None:
    """Store ``token`` for ``tenant_id`` in the tokens table."""
    item = token_item(token, tenant_id)
    dynamodb_client.put_item(TableName=table_name, Item={key: {"S": value} for key, value in item.items()})
