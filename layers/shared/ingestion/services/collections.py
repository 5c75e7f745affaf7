"""Creating, reading, listing and deleting collections."""

from __future__ import annotations

from datetime import UTC, datetime

from ingestion.domain import Collection, CollectionPage
from ingestion.errors import CollectionNotFound
from ingestion.identifiers import new_ulid
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.jobs import JobQueue, get_purge_queue


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


def list_collections(
    tenant_id: str, limit: int, next_token: str | None, collections: CollectionRepository | None = None
) -> CollectionPage:
    """The tenant's collections, newest first, a page at a time."""
    collections = collections or get_collection_repository()
    items, token = collections.list_newest_first(tenant_id, limit, next_token)
    return CollectionPage(items=items, next_token=token)


def delete_collection(
    tenant_id: str,
    collection_id: str,
    collections: CollectionRepository | None = None,
    purges: JobQueue | None = None,
) -> None:
    """Delete a collection: gone for its tenant at once, its data purged in the background.

    The collection is marked deleted (from then on it is not found, not listed, and no upload
    is merged into it), then its purge is queued: the purge function drops its tables, deletes
    their files, its uploads and reports, and its records. If the purge cannot be queued the
    mark is taken back, so a collection is never hidden without being purged.
    """
    collections = collections or get_collection_repository()
    purges = purges or get_purge_queue()
    collections.get_for_tenant(collection_id, tenant_id)
    if not collections.mark_deleted(collection_id, datetime.now(UTC)):
        raise CollectionNotFound(collection_id)  # deleted by a request just before this one
    try:
        purges.send({"collectionId": collection_id})
    except Exception:
        collections.unmark_deleted(collection_id)
        raise
