"""The ``ingest`` client's plumbing against a stub HTTP server: bounded 429 retries, the API's
error bodies, streamed uploads and downloads, and the choice of upload route."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ingest_client import transfer
from ingest_client.api import MAX_THROTTLE_RETRIES, Api, ApiError, retry_after_seconds
from ingest_client.render import PlainTransfer


class Stub:
    """Answers each request with the next scripted (status, headers, body); records what came."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.received: list[dict[str, Any]] = []


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    script = Stub()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.received.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
            )
            status, headers, payload = script.answers.pop(0) if script.answers else (200, {}, b"{}")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def throttled(seconds: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"message": "too many requests", "errors": []}).encode()
    return 429, {"Retry-After": seconds, "Content-Type": "application/json"}, body


class Counted:
    def __init__(self) -> None:
        self.blocks: list[int] = []
        self.resets = 0

    def advance(self, amount: int) -> None:
        self.blocks.append(amount)

    def reset(self) -> None:
        self.resets += 1
        self.blocks.clear()


def test_a_429_is_sent_again_after_retry_after_then_answered(stub: tuple[Stub, str]):
    script, url = stub
    script.answers = [throttled("2"), throttled("1"), (200, {}, b'{"items": [], "nextToken": null}')]
    slept: list[float] = []

    page = Api(url, "t", sleep=slept.append).list_collections()

    assert page == {"items": [], "nextToken": None}
    assert slept == [2.0, 1.0]
    assert len(script.received) == 3
    assert {request["headers"]["Authorization"] for request in script.received} == {"Token t"}


def test_429s_are_retried_a_bounded_number_of_times(stub: tuple[Stub, str]):
    script, url = stub
    script.answers = [throttled("1")] * (MAX_THROTTLE_RETRIES + 3)
    slept: list[float] = []

    with pytest.raises(ApiError) as raised:
        Api(url, "t", sleep=slept.append).list_collections()

    assert raised.value.status == 429
    assert slept == [1.0] * MAX_THROTTLE_RETRIES
    assert len(script.received) == MAX_THROTTLE_RETRIES + 1


def test_a_retry_after_too_long_to_wait_for_is_reported_at_once(stub: tuple[Stub, str]):
    script, url = stub
    script.answers = [throttled("3600")]
    slept: list[float] = []

    with pytest.raises(ApiError, match="too many requests"):
        Api(url, "t", sleep=slept.append).list_collections()

    assert slept == []


def test_a_retried_post_sends_its_whole_body_again(stub: tuple[Stub, str], tmp_path: Path):
    script, url = stub
    script.answers = [throttled("1"), (202, {}, b'{"id": "r1", "status": "queued"}')]
    path = tmp_path / "deals.csv"
    path.write_bytes(b"id,value\n1,2\n")
    form = transfer.multipart_body(path, transfer.UploadOptions(separator=";", max_bad_records=3))
    counted = Counted()

    record = transfer.post_body(Api(url, "t", sleep=lambda _: None), "c1", "deals", form, counted)

    assert record["id"] == "r1"
    first, second = script.received
    assert first["body"] == second["body"] == form[0]
    assert second["path"] == "/api/collection/c1/data/deals/append"
    assert second["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert counted.resets == 1
    assert sum(counted.blocks) == len(form[0])
    for part in (b'name="separator"\r\n\r\n;', b'name="maxBadRecords"\r\n\r\n3', b"allowFieldAddition"):
        assert part in form[0]
    assert b'filename="deals.csv"' in form[0]


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)

    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(later, now=now.timestamp()) == pytest.approx(30.0)
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_the_apis_error_body_becomes_the_message_with_its_fields(stub: tuple[Stub, str]):
    script, url = stub
    body = {"message": "invalid request: check name", "errors": [{"field": "name", "message": "too long"}]}
    script.answers = [(422, {"Content-Type": "application/json"}, json.dumps(body).encode())]

    with pytest.raises(ApiError) as raised:
        Api(url, "t").create_collection("x" * 300)

    assert str(raised.value) == "invalid request: check name: name: too long"
    assert (raised.value.status, raised.value.body, raised.value.is_auth) == (422, body, False)


def test_a_storage_refusal_without_the_apis_body_shows_its_status_and_text(
    stub: tuple[Stub, str], tmp_path: Path
):
    script, url = stub
    script.answers = [(403, {}, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")]
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 10)

    with pytest.raises(ApiError) as raised:
        transfer.put_file(Api(url, "t"), {"uploadUrl": f"{url}/put", "headers": {}}, path, 10, Counted())

    assert str(raised.value).startswith("HTTP 403 Forbidden: <Error><Code>SignatureDoesNotMatch")


@pytest.mark.parametrize(
    ("status", "message", "is_auth"),
    [
        (401, "missing or unknown token", True),
        (404, "collection 'c' does not exist (or belongs to another tenant)", True),
        (404, "upload request 'r' does not exist in this collection and data type", False),
        (409, "collection conflict", False),
    ],
)
def test_auth_errors_are_401_and_a_collection_that_is_not_found(status: int, message: str, is_auth: bool):
    assert ApiError(status, message).is_auth is is_auth


def test_the_put_streams_the_file_from_disk_with_a_length_and_exactly_the_urls_headers(
    stub: tuple[Stub, str], tmp_path: Path
):
    script, url = stub
    path = tmp_path / "export.csv"
    path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    counted = Counted()
    target = {"uploadUrl": f"{url}/bucket/key?X-Amz-Signature=abc", "headers": {"x-amz-meta-request": "r1"}}

    transfer.put_file(Api(url, "token"), target, path, path.stat().st_size, counted)

    (put,) = script.received
    assert put["method"] == "PUT"
    assert put["path"] == "/bucket/key?X-Amz-Signature=abc"
    assert put["body"] == path.read_bytes()
    assert put["headers"]["Content-Length"] == str(2**20)
    assert put["headers"]["x-amz-meta-request"] == "r1"
    assert "Authorization" not in put["headers"]
    assert "Transfer-Encoding" not in put["headers"]
    # Read in blocks as it is sent, never whole.
    assert sum(counted.blocks) == 2**20
    assert len(counted.blocks) > 1
    assert max(counted.blocks) <= 64 * 1024


def test_the_upload_url_is_asked_for_with_the_files_name_options_and_type(
    stub: tuple[Stub, str], tmp_path: Path
):
    script, url = stub
    path = tmp_path / "leads.ndjson"
    path.write_text("{}\n")
    options = transfer.UploadOptions("leads", "auto", 5, True)

    transfer.ask_upload_url(Api(url, "t"), "c1", path, options)

    (asked,) = script.received
    assert asked["path"] == "/api/collection/c1/data/leads/append/upload-url"
    assert json.loads(asked["body"]) == {
        "fileName": "leads.ndjson",
        "separator": "auto",
        "maxBadRecords": 5,
        "allowFieldAddition": True,
        "contentType": "application/x-ndjson",
    }


def test_a_download_is_written_whole_or_not_at_all(stub: tuple[Stub, str], tmp_path: Path):
    script, url = stub
    content = b"id,value\n" + b"1,2\n" * 100_000
    script.answers = [(200, {}, content), (403, {}, b"expired")]
    target = tmp_path / "export.csv"
    sizes: list[int | None] = []
    counted = Counted()

    def bar(total: int | None) -> Any:
        sizes.append(total)
        from contextlib import nullcontext

        return nullcontext(counted)

    written = transfer.download(Api(url, "t"), f"{url}/export.csv", target, bar)
    with pytest.raises(ApiError):
        transfer.download(Api(url, "t"), f"{url}/export.csv", tmp_path / "second.csv", bar)

    assert (written, target.read_bytes()) == (len(content), content)
    assert sizes == [len(content)]
    assert sum(counted.blocks) == len(content)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]
    assert "Authorization" not in script.received[0]["headers"]


def test_the_direct_limit_is_4_mib_unless_overridden(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(transfer.DIRECT_LIMIT_ENV, raising=False)
    assert transfer.direct_limit(None) == 4 * 1024 * 1024
    assert transfer.direct_limit(10) == 10

    monkeypatch.setenv(transfer.DIRECT_LIMIT_ENV, "2048")
    assert transfer.direct_limit(None) == 2048
    assert transfer.direct_limit(10) == 10

    monkeypatch.setenv(transfer.DIRECT_LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match="INGEST_DIRECT_LIMIT_BYTES must be a number of bytes"):
        transfer.direct_limit(None)


def test_files_over_the_limit_go_through_an_upload_url():
    limit = transfer.DEFAULT_DIRECT_LIMIT

    assert not transfer.uses_upload_url(limit, limit)
    assert transfer.uses_upload_url(limit + 1, limit)
    assert not transfer.uses_upload_url(0, limit)


def test_a_plain_transfer_prints_its_quarters_once_each():
    lines: list[str] = []
    plain = PlainTransfer(lines.append, "uploading big.csv", 4_000_000)

    for _ in range(40):
        plain.advance(100_000)
    plain.finish()

    assert lines[0] == "uploading big.csv: 4.0 MB"
    assert lines[1:4] == ["  25% (1.0 MB)", "  50% (2.0 MB)", "  75% (3.0 MB)"]
    assert lines[4].startswith("  done: 4.0 MB in ")
    assert len(lines) == 5


def test_polling_stops_at_the_first_final_status():
    answers = iter(
        [{"status": "queued"}, {"status": "in_progress", "processedLines": 3}, {"status": "error"}]
    )
    shown: list[dict[str, Any]] = []
    slept: list[float] = []

    last = transfer.poll(lambda: next(answers), shown.append, sleep=slept.append)

    assert last == {"status": "error"}
    assert [body["status"] for body in shown] == ["queued", "in_progress", "error"]
    assert len(slept) == 2
