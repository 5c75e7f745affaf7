"""What small upserts ask of S3: each table metadata file read at most once per process, none
that the process wrote itself, and every file sent in one PUT (no multipart upload for a file of
a few KiB)."""

from __future__ import annotations

from collections import Counter

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from ingestion.dataplane import file_io, get_catalog, table_identifier
from ingestion.dataplane.file_io import IngestionFileIO, MetadataCache
from ingestion.settings import Settings
from tests.integration.dataplane.uploads import ingest_completed

COLLECTION = "01jd3k7q9x0m5r2c8v4b6n1t3f"
Request = tuple[str, str, str]


@pytest.fixture
def requests(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[Request]:
    """(method, path, query) of every request to this test's bucket, as the S3 server saw it,
    and ("GLUE", action, "") of every request to Glue."""
    seen: list[Request] = []
    serve = DomainDispatcherApplication.__call__

    def counted(self, environ, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO", "")
        action = environ.get("HTTP_X_AMZ_TARGET", "")
        if path == f"/{settings.data_bucket}" or path.startswith(f"/{settings.data_bucket}/"):
            seen.append((environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", "")))
        elif action.startswith("AWSGlue."):
            seen.append(("GLUE", action.removeprefix("AWSGlue."), ""))
        return serve(self, environ, start_response)

    monkeypatch.setattr(DomainDispatcherApplication, "__call__", counted)
    return seen


def another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What another validator would have kept of the tables' metadata: nothing."""
    monkeypatch.setattr(file_io, "METADATA_CACHE", MetadataCache(1 << 20))


def upload(settings: Settings, data: bytes, request_id: str) -> None:
    ingest_completed(settings, data, request_id, collection_id=COLLECTION)


def metadata(requests: list[Request], *methods: str) -> list[str]:
    return [path for method, path, _ in requests if method in methods and "/metadata/" in path]


def test_small_upserts_read_metadata_once_per_process_never_their_own_and_write_in_one_put(
    settings: Settings, sample_csv: bytes, requests: list[Request], monkeypatch: pytest.MonkeyPatch
) -> None:
    another_process(monkeypatch)
    upload(settings, sample_csv, "request-0")
    first = len(requests)
    upload(settings, sample_csv.replace(b"2024-06-18T12:30:45", b"2024-06-19T12:30:45"), "request-1")
    # The same process again: it wrote or read every metadata file it needs.
    assert metadata(requests[first:], "GET") == []

    another_process(monkeypatch)
    second = len(requests)
    upload(settings, sample_csv.replace(b"2024-06-18T12:30:45", b"2024-06-20T12:30:45"), "request-2")
    mine = requests[second:]
    reads = Counter(metadata(mine, "GET"))
    assert reads, "a new process read no table metadata: the counting sees nothing"
    assert max(reads.values()) == 1, reads.most_common(3)

    assert [(method, path) for method, path, query in requests if "upload" in query] == []  # multipart
    puts = [path for method, path, _ in requests if method == "PUT"]
    assert any(path.endswith(".parquet") for path in puts)
    assert any(path.endswith(".avro") for path in puts)
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))
    assert isinstance(table.io, IngestionFileIO)
    assert len(table.scan().to_arrow()) == 5


def test_a_commit_neither_looks_for_its_new_metadata_file_nor_asks_the_databases_kind_again(
    settings: Settings, sample_csv: bytes, requests: list[Request]
) -> None:
    upload(settings, sample_csv, "request-0")
    first = len(requests)
    upload(settings, sample_csv.replace(b"2024-06-18T12:30:45", b"2024-06-19T12:30:45"), "request-1")
    commit = requests[first:]

    written = [path for method, path, _ in commit if method == "PUT" and path.endswith(".metadata.json")]
    assert len(written) == 1
    assert [method for method, path, _ in commit if path == written[0]] == ["PUT"]  # no HEAD first
    assert [query for method, path, query in commit if path == f"/{settings.data_bucket}"] == []  # nor a LIST
    glue = [action for method, action, _ in commit if method == "GLUE"]
    assert "UpdateTable" in glue
    assert "GetDatabase" not in glue  # asked by the first upload's commit
