"""API tokens: how they are read from a request and how they are stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Both the reference API's "Token <t>" and the common "Bearer <t>" are accepted.
ACCEPTED_SCHEMES = ("token", "bearer")


@dataclass(frozen=True)
class Caller:
    """Who a token acts for: its tenant, and the tenant's API key in the API's usage plan (the
    usage identifier API Gateway throttles the tenant by; None for a token issued before)."""

    tenant_id: str
    api_key: str | None = None


def hash_token(token: str) -> str:
    """Tokens are stored only as their SHA-256 digest."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_from_authorization(header: str | None) -> str | None:
    """The token in an ``Authorization`` header, or None if the header is absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in ACCEPTED_SCHEMES or not token or " " in token:
        return None
    return token
