"""What a small upsert asks of S3: each table metadata file read once per process, and every
file it writes sent in one PUT (no multipart upload for a file of a few KiB)."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from ingestion.dataplane import file_io, get_catalog, ingest_upload, table_identifier
from ingestion.dataplane.file_io import IngestionFileIO, MetadataCache
from ingestion.domain import UploadStatus
from ingestion.schemas.deals import DEALS
from ingestion.settings import Settings

COLLECTION = "01jd3k7q9x0m5r2c8v4b6n1t3f"


@pytest.fixture
def requests(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """(method, path, query) of every request to this test's bucket, as the S3 server saw it."""
    monkeypatch.setattr(file_io, "METADATA_CACHE", MetadataCache(1 << 20))
    seen: list[tuple[str, str, str]] = []
    serve = DomainDispatcherApplication.__call__

    def counted(self, environ, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO", "")
        if path.startswith(f"/{settings.data_bucket}/"):
            seen.append((environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", "")))
        return serve(self, environ, start_response)

    monkeypatch.setattr(DomainDispatcherApplication, "__call__", counted)
    return seen


def upload(settings: Settings, data: bytes, request_id: str) -> None:
    outcome = ingest_upload(
        open_source=lambda: io.BytesIO(data),
        data_type=DEALS,
        separator=",",
        collection_id=COLLECTION,
        request_id=request_id,
        settings=settings,
    )
    assert outcome.status is UploadStatus.COMPLETED, outcome.message


def test_small_upserts_read_each_metadata_file_once_and_write_each_file_in_one_put(
    settings: Settings, sample_csv: bytes, requests: list[tuple[str, str, str]]
) -> None:
    newer = sample_csv.replace(b"2024-06-18T12:30:45", b"2024-06-19T12:30:45")

    for number, data in enumerate((sample_csv, newer, newer.replace(b"2024-06-19", b"2024-06-20"))):
        upload(settings, data, f"request-{number}")

    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))
    assert len(table.scan().to_arrow()) == 5
    metadata_reads = Counter(path for method, path, _ in requests if method == "GET" and "/metadata/" in path)
    assert metadata_reads, "the uploads read no table metadata: the counting sees nothing"
    assert max(metadata_reads.values()) == 1, metadata_reads.most_common(3)
    multipart = [(method, path) for method, path, query in requests if "upload" in query]
    assert multipart == []
    puts = [path for method, path, _ in requests if method == "PUT"]
    assert any(path.endswith(".parquet") for path in puts)
    assert any(path.endswith(".avro") for path in puts)
    assert isinstance(table.io, IngestionFileIO)
