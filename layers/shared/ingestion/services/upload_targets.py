"""Whether an upload may still be merged where it was sent: its collection not deleted, its data
type's rows not deleted since it was requested.

Processing asks twice: before validating the file (so a deleted collection's queued upload
ends at once, reading nothing), and again once it holds the table's commit lock, just before
merging, since the deletion may come while the file is validated. Deleting a data type's rows
and purging a deleted collection take the same lock to drop the table, so a merge either
commits before the drop (and is dropped with the rest) or sees the deletion and merges nothing.
"""

from __future__ import annotations

from ingestion.domain import UploadRequest
from ingestion.repositories.collections import CollectionRepository


def upload_target_gone(collections: CollectionRepository, request: UploadRequest) -> str | None:
    """Why ``request`` may no longer be merged, said for its owner; None if it may."""
    collection = collections.find(request.collection_id)
    if collection is None:
        return f"collection '{request.collection_id}' no longer exists; nothing was merged"
    return collection.refuses_upload(request.data_type, request.id)
