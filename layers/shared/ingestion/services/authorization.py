"""Who is calling: the token authorizer's decision."""

from __future__ import annotations

from ingestion.repositories.tokens import TokenRepository, get_token_repository
from ingestion.tokens import Caller, token_from_authorization


def caller_for_authorization(header: str | None, tokens: TokenRepository | None = None) -> Caller | None:
    """Who the ``Authorization`` header's token acts for, or None to refuse it."""
    token = token_from_authorization(header)
    if token is None:
        return None
    tokens = tokens or get_token_repository()
    return tokens.caller_for(token)
