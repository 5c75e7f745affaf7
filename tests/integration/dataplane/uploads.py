"""A file's bytes through the validator's processing (``ingest_upload``), as the data-plane
tests upload them: comma-separated, opened afresh on each call as the S3 opener does."""

from __future__ import annotations

import io

from pyiceberg.catalog import Catalog

from ingestion.dataplane import ingest_upload
from ingestion.domain import UploadOutcome, UploadStatus
from ingestion.schemas.deals import DEALS
from ingestion.schemas.spec import DataTypeSpec
from ingestion.settings import Settings


def ingest_bytes(
    settings: Settings,
    data: bytes,
    request_id: str,
    *,
    collection_id: str,
    data_type: DataTypeSpec = DEALS,
    catalog: Catalog | None = None,
) -> UploadOutcome:
    return ingest_upload(
        open_source=lambda: io.BytesIO(data),
        data_type=data_type,
        separator=",",
        collection_id=collection_id,
        request_id=request_id,
        catalog=catalog,
        settings=settings,
    )


def ingest_completed(settings: Settings, data: bytes, request_id: str, **target: object) -> UploadOutcome:
    """:func:`ingest_bytes`, failing the test unless the upload completed."""
    outcome = ingest_bytes(settings, data, request_id, **target)  # type: ignore[arg-type]
    assert outcome.status is UploadStatus.COMPLETED, outcome.message
    return outcome
