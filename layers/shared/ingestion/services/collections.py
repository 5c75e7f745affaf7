"""Creating and reading collections."""

from __future__ import annotations

from datetime import UTC, datetime

from ingestion.domain import Collection
from ingestion.identifiers import new_ulid
from ingestion.repositories.collections import CollectionRepository, get_collection_repository


def create_collection(
    tenant_id: str, name: str, collections: CollectionRepository | None = None
) -> Collection:
    collections = collections or get_collection_repository()
    collection = Collection(id=new_ulid(), tenant_id=tenant_id, name=name, created_at=datetime.now(UTC))
    collections.create(collection)
    return collection


def get_collection(
    tenant_id: str, collection_id: str, collections: CollectionRepository | None = None
) -> Collection:
    collections = collections or get_collection_repository()
    return collections.get_for_tenant(collection_id, tenant_id)
