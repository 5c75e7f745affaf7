"""The upload URL a deployed entry function signs: Signature Version 4, on the bucket's regional host.

(Against the local stack the URL names the local endpoint instead: ``tests/integration/test_upload_urls.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest

from ingestion import aws
from ingestion.repositories.files import get_file_store

BUCKET = "ingestion-data-123456789012-abc"
KEY = "incoming/01jd3k7q9x0m5r2c8v4b6n1t3e/deals/api/01jd3k8a2b3c4d5e6f7g8h9j0k"


@pytest.fixture
def in_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The entry function's environment in AWS: no endpoint of its own."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    tables = ("COLLECTIONS_TABLE", "COMMIT_LOCKS_TABLE", "UPLOAD_REQUESTS_TABLE", "TOKENS_TABLE")
    for name in (*tables, "EXPORTS_TABLE", "IDEMPOTENCY_TABLE"):
        monkeypatch.setenv(name, name.lower())
    for name, value in {"DATA_TYPES_TABLE": "types", "DATA_BUCKET": BUCKET, "GLUE_DATABASE": "db"}.items():
        monkeypatch.setenv(name, value)
    aws.reset()
    yield monkeypatch
    aws.reset()


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_an_upload_url_is_signed_v4_for_one_key_on_the_buckets_regional_host(in_aws, region):
    in_aws.setenv("AWS_REGION", region)

    url = get_file_store().upload_url(KEY, 3600)

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", f"{BUCKET}.s3.{region}.amazonaws.com")
    assert parts.path == f"/{KEY}"
    query = dict(parse_qsl(parts.query))
    assert (query["X-Amz-Algorithm"], query["X-Amz-SignedHeaders"]) == ("AWS4-HMAC-SHA256", "host")
    assert query["X-Amz-Credential"].endswith(f"/{region}/s3/aws4_request")
    assert query["X-Amz-Expires"] == "3600"
