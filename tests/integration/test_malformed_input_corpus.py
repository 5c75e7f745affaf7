"""A corpus of malformed input, sent over HTTP to the running service as a customer would.

Every case ends one of two ways: a 4xx with the documented error body, or an upload that ends
``error`` with a message on its first attempt (the queue here would deliver a failed
notification again only after ten minutes, so a crash shows up as a request left
``in_progress``). None is a 5xx, and none is ``completed`` with fewer rows than its file holds.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.integration.running_service import ROOT, Service, running_service

SAMPLE = (ROOT / "events" / "deals.csv").read_bytes()
HEADER, *ROWS = SAMPLE.rstrip(b"\n").split(b"\n")
BOUNDARY = "corpus-boundary-7d1f"
DEEP = b"[" * 3000 + b"]" * 3000
# Far under the 10 MB API limit once compressed, far over this run's decompressed limit.
MAX_DECOMPRESSED_MIB = "8"


# --------------------------------------------------------------------------- what a case expects


@dataclass(frozen=True)
class Refused:
    """Answered at once with this 4xx status and the documented error body."""

    status: int


@dataclass(frozen=True)
class Fails:
    """Accepted (202), then ends ``error`` with a message on the first attempt, merging nothing."""


@dataclass(frozen=True)
class Merges:
    """Accepted, then ``completed`` with every one of its ``rows``."""

    rows: int


@dataclass(frozen=True)
class WholeOrNothing:
    """Either of ``Fails`` or ``Merges(rows)``: what must never happen is half of it."""

    rows: int


Expectation = Refused | Fails | Merges | WholeOrNothing


@dataclass
class Target:
    """Where a case sends its request: a fresh collection of the running service."""

    service: Service
    collection_id: str

    @property
    def append_url(self) -> str:
        return f"{self.service.url}/api/collection/{self.collection_id}/data/deals/append"

    def post(self, path: str = "", **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", self.service.headers)
        return requests.post(self.append_url + path, timeout=60, **kwargs)

    def upload(self, content: bytes, name: str = "deals.csv", **fields: str) -> requests.Response:
        return self.post(files=[("file", (name, content, "application/octet-stream"))], data=fields)

    def raw(self, body: bytes, content_type: str) -> requests.Response:
        return self.post(data=body, headers=self.service.headers | {"Content-Type": content_type})

    def get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        headers = self.service.headers if headers is None else headers
        return requests.get(self.service.url + path, headers=headers, timeout=30)


Send = Callable[[Target], requests.Response]


def csv_with(row: int, old: bytes, new: bytes) -> bytes:
    """The sample with ``old`` replaced by ``new`` in data row ``row`` (0-based)."""
    rows = list(ROWS)
    assert old in rows[row]
    rows[row] = rows[row].replace(old, new, 1)
    return b"\n".join([HEADER, *rows]) + b"\n"


def sample_json_rows() -> list[dict[str, Any]]:
    names = HEADER.decode().split(",")
    return [
        {name: (value or None) for name, value in zip(names, next_row(line), strict=True)} for line in ROWS
    ]


def next_row(line: bytes) -> list[str]:
    import csv

    return next(csv.reader([line.decode()]))


def json_file(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows).encode()


def ndjson_file(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def multipart(*parts: bytes, boundary: str = BOUNDARY, close: bool = True) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + boundary.encode() + b"--\r\n" if close else b"")


def file_part(content: bytes, name: str = "deals.csv") -> bytes:
    return (
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode() + content


def field_part(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
RANDOM = random.Random(6)


def _json_rows_with(**changes: Any) -> list[dict[str, Any]]:
    rows = sample_json_rows()
    rows[1] |= changes
    return rows


# --------------------------------------------------------------------------- the corpus

CASES: dict[str, tuple[Send, Expectation]] = {
    # CSV
    "csv-bad-datetime": (lambda t: t.upload(csv_with(0, b"2024-05-01T08:00:00", b"not-a-date")), Fails()),
    "csv-negative-value": (lambda t: t.upload(csv_with(1, b"5000.00", b"-5")), Fails()),
    "csv-unknown-status": (lambda t: t.upload(csv_with(2, b",open,", b",pending,")), Fails()),
    "csv-closed-without-closed-date": (
        lambda t: t.upload(
            csv_with(0, b"2024-06-10T09:15:30,2024-06-10T09:15:30,closed", b",2024-06-10T09:15:30,closed")
        ),
        Fails(),
    ),
    "csv-required-columns-missing": (lambda t: t.upload(b"id,name\n1,A\n"), Fails()),
    "csv-duplicated-column": (lambda t: t.upload(SAMPLE.replace(b",stage,", b",name,", 1)), Fails()),
    "csv-header-only": (lambda t: t.upload(HEADER + b"\n"), Fails()),
    "csv-blank-lines-only": (lambda t: t.upload(b"\n\n\n"), Fails()),
    "csv-latin-1": (lambda t: t.upload(SAMPLE.replace(b"Oslo", "Tromsø".encode("latin-1"))), Fails()),
    "csv-semicolons-read-with-commas": (
        lambda t: t.upload(SAMPLE.replace(b",", b";"), separator=","),
        Fails(),
    ),
    "csv-row-with-an-extra-field": (lambda t: t.upload(csv_with(1, b"Finance,", b"Finance,extra,")), Fails()),
    "csv-unterminated-quote": (lambda t: t.upload(csv_with(3, b"Customer D", b'"Customer D')), Fails()),
    "csv-random-binary": (lambda t: t.upload(RANDOM.randbytes(4096)), Fails()),
    "csv-nul-in-a-cell": (
        lambda t: t.upload(csv_with(0, b"Customer A", b"Customer\x00A")),
        WholeOrNothing(5),
    ),
    "csv-bom-and-crlf": (lambda t: t.upload(b"\xef\xbb\xbf" + SAMPLE.replace(b"\n", b"\r\n")), Merges(5)),
    "csv-5000-unknown-columns": (
        lambda t: t.upload(
            HEADER
            + b","
            + b",".join(b"extra%d" % n for n in range(5000))
            + b"\n"
            + ROWS[0]
            + b",x" * 5000
            + b"\n"
        ),
        Merges(1),
    ),
    "csv-100-kb-column-name": (
        lambda t: t.upload(HEADER + b"," + b"c" * 100_000 + b"\n" + b"".join(row + b",x\n" for row in ROWS)),
        Merges(5),
    ),
    "csv-2-mb-cell": (lambda t: t.upload(csv_with(4, b"Customer E", b"E" * (2 << 20))), WholeOrNothing(5)),
    "csv-only-a-separator": (lambda t: t.upload(b",\n,\n"), Fails()),
    # JSON
    "json-syntax-error": (lambda t: t.upload(b'[{"id": "1",]', name="deals.json"), Fails()),
    "json-array-of-numbers": (lambda t: t.upload(b"[1, 2, 3]", name="deals.json"), Fails()),
    "json-rows-is-a-number": (lambda t: t.upload(b'{"rows": 5}', name="deals.json"), Fails()),
    "json-rows-is-text-that-is-no-json": (
        lambda t: t.upload(b'{"rows": "not json"}', name="deals.json"),
        Fails(),
    ),
    "json-nested-3000-deep": (lambda t: t.upload(b'[{"id": ' + DEEP + b"}]", name="deals.json"), Fails()),
    "json-object-in-a-cell": (
        lambda t: t.upload(json_file(_json_rows_with(name={"first": "A"})), name="deals.json"),
        Fails(),
    ),
    "json-empty-array": (lambda t: t.upload(b"[]", name="deals.json"), Fails()),
    "json-null": (lambda t: t.upload(b"null", name="deals.json"), Fails()),
    "json-a-string": (lambda t: t.upload(b'"hello"', name="deals.json"), Fails()),
    "json-two-documents": (lambda t: t.upload(b'[{"id": "1"}][{"id": "2"}]', name="deals.json"), Fails()),
    "json-number-too-big-for-a-double": (
        lambda t: t.upload(json_file(_json_rows_with(value=10**400)), name="deals.json"),
        WholeOrNothing(5),
    ),
    "json-valid-sample": (lambda t: t.upload(json_file(sample_json_rows()), name="deals.json"), Merges(5)),
    # NDJSON
    "ndjson-a-line-that-is-no-json": (
        lambda t: t.upload(ndjson_file(sample_json_rows()) + b"{oops\n", name="deals.ndjson"),
        Fails(),
    ),
    "ndjson-a-line-that-is-an-array": (
        lambda t: t.upload(ndjson_file(sample_json_rows()) + b"[1, 2]\n", name="deals.ndjson"),
        Fails(),
    ),
    "ndjson-nested-3000-deep": (
        lambda t: t.upload(ndjson_file(sample_json_rows()) + b'{"id": ' + DEEP + b"}\n", name="deals.ndjson"),
        Fails(),
    ),
    "ndjson-blank-lines-only": (lambda t: t.upload(b"\n\n\n", name="deals.ndjson"), Fails()),
    "ndjson-value-as-text-then-number": (
        lambda t: t.upload(ndjson_file(_json_rows_with(value=5000)), name="deals.ndjson"),
        Merges(5),
    ),
    "ndjson-not-utf-8": (
        lambda t: t.upload(
            ndjson_file(sample_json_rows()).replace(b"Oslo", b"Oslo\xff"), name="deals.ndjson"
        ),
        Fails(),
    ),
    "ndjson-a-2-mb-line": (
        lambda t: t.upload(ndjson_file(_json_rows_with(description="d" * (2 << 20))), name="deals.ndjson"),
        WholeOrNothing(5),
    ),
    # gzip
    "gzip-cut-in-half": (lambda t: t.upload(gzip.compress(SAMPLE * 40)[:600], name="deals.csv.gz"), Fails()),
    "gzip-inflating-past-the-limit": (
        lambda t: t.upload(gzip.compress(HEADER + b"\n" + (ROWS[0] + b"\n") * 40_000), name="deals.csv.gz"),
        Fails(),
    ),
    "gzip-of-random-bytes": (lambda t: t.upload(gzip.compress(RANDOM.randbytes(4096)), name="x.gz"), Fails()),
    "gzip-of-gzip": (lambda t: t.upload(gzip.compress(gzip.compress(SAMPLE)), name="deals.csv.gz"), Fails()),
    "gzip-header-only": (lambda t: t.upload(gzip.compress(SAMPLE)[:10], name="deals.csv.gz"), Fails()),
    "gzip-of-a-valid-file": (lambda t: t.upload(gzip.compress(SAMPLE), name="deals.csv.gz"), Merges(5)),
    # multipart framing
    "multipart-cut-short": (
        lambda t: t.raw(
            multipart(field_part("separator", b","), file_part(SAMPLE), close=False)[:-300], MULTIPART
        ),
        Refused(400),
    ),
    "multipart-without-closing-boundary": (
        lambda t: t.raw(multipart(file_part(SAMPLE), close=False), MULTIPART),
        Refused(400),
    ),
    "multipart-another-boundary": (
        lambda t: t.raw(multipart(file_part(SAMPLE), boundary="other"), MULTIPART),
        Refused(400),
    ),
    "multipart-no-boundary-parameter": (
        lambda t: t.raw(multipart(file_part(SAMPLE)), "multipart/form-data"),
        Refused(400),
    ),
    "multipart-plain-bytes": (lambda t: t.raw(b"just bytes", MULTIPART), Refused(400)),
    "multipart-no-file-part": (
        lambda t: t.raw(multipart(field_part("separator", b",")), MULTIPART),
        Refused(422),
    ),
    "multipart-empty-file": (lambda t: t.raw(multipart(file_part(b"")), MULTIPART), Refused(422)),
    "multipart-two-file-parts": (
        lambda t: t.raw(multipart(file_part(SAMPLE), file_part(SAMPLE)), MULTIPART),
        Refused(422),
    ),
    "multipart-field-not-utf-8": (
        lambda t: t.raw(multipart(field_part("separator", b"\xff"), file_part(SAMPLE)), MULTIPART),
        Refused(400),
    ),
    "multipart-file-without-file-name": (
        lambda t: t.raw(multipart(field_part("file", SAMPLE)), MULTIPART),
        Refused(422),
    ),
    # options
    "option-separator-of-two-characters": (lambda t: t.upload(SAMPLE, separator=";;"), Refused(422)),
    "option-separator-quote": (lambda t: t.upload(SAMPLE, separator='"'), Refused(422)),
    "option-separator-line-break": (lambda t: t.upload(SAMPLE, separator="\n"), Refused(422)),
    "option-separator-empty": (lambda t: t.upload(SAMPLE, separator=""), Refused(422)),
    "option-max-bad-records-negative": (lambda t: t.upload(SAMPLE, maxBadRecords="-1"), Refused(422)),
    "option-max-bad-records-text": (lambda t: t.upload(SAMPLE, maxBadRecords="many"), Refused(422)),
    "option-max-bad-records-huge": (lambda t: t.upload(SAMPLE, maxBadRecords="1" + "0" * 40), Merges(5)),
    "option-allow-field-addition-maybe": (
        lambda t: t.upload(SAMPLE, allowFieldAddition="maybe"),
        Refused(422),
    ),
    "option-content-type-text-plain": (lambda t: t.raw(SAMPLE, "text/plain"), Refused(415)),
    "option-json-rows-empty": (lambda t: t.raw(b'{"rows": []}', "application/json"), Refused(422)),
    "option-json-rows-not-objects": (lambda t: t.raw(b'{"rows": [1, 2]}', "application/json"), Refused(422)),
    "option-json-broken": (lambda t: t.raw(b'{"rows": [', "application/json"), Refused(422)),
    "option-json-nested-3000-deep": (
        lambda t: t.raw(b'{"rows": ' + DEEP + b"}", "application/json"),
        Refused(422),
    ),
    "option-json-rows-with-a-nested-cell": (
        lambda t: t.raw(
            json.dumps({"rows": _json_rows_with(name=["a", ["b"]])}).encode(), "application/json"
        ),
        Fails(),
    ),
    # path parameters: an id or name that cannot be one is refused at the edge (422 naming it);
    # a well-formed one that names nothing is 404
    "path-collection-id-of-3000-characters": (lambda t: t.get("/api/collection/" + "c" * 3000), Refused(422)),
    "path-collection-id-climbing-up": (lambda t: t.get("/api/collection/..%2F..%2Fetc"), Refused(422)),
    "path-collection-id-in-capitals": (
        lambda t: t.get("/api/collection/" + t.collection_id.upper()),
        Refused(422),
    ),
    "path-collection-id-well-formed-but-unknown": (
        lambda t: t.get("/api/collection/01jd3k7q9x0m5r2c8v4b6n1t3e"),
        Refused(404),
    ),
    "path-data-type-in-capitals": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/DEALS/append"),
        Refused(422),
    ),
    "path-data-type-of-2000-characters": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/{'d' * 2000}/append"),
        Refused(422),
    ),
    "path-data-type-well-formed-but-undeclared": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/leads/append"),
        Refused(404),
    ),
    "path-request-id-that-is-no-id": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/deals/append/%00%ff"),
        Refused(422),
    ),
    "path-request-id-of-3000-characters": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/deals/append/{'r' * 3000}"),
        Refused(422),
    ),
    "path-export-id-that-is-no-id": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/deals/export/latest"),
        Refused(422),
    ),
    "path-rows-of-a-data-type-in-capitals": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/Deals/rows"),
        Refused(422),
    ),
    "path-unknown-route": (lambda t: t.get("/api/collections"), Refused(404)),
    # headers and query strings
    "header-no-authorization": (
        lambda t: t.get(f"/api/collection/{t.collection_id}", headers={}),
        Refused(401),
    ),
    "header-empty-token": (
        lambda t: t.get(f"/api/collection/{t.collection_id}", headers={"Authorization": "Token "}),
        Refused(401),
    ),
    "header-basic-authorization": (
        lambda t: t.get(
            f"/api/collection/{t.collection_id}", headers={"Authorization": "Basic dXNlcjpwYXNz"}
        ),
        Refused(401),
    ),
    "header-unknown-token": (
        lambda t: t.get(f"/api/collection/{t.collection_id}", headers={"Authorization": "Token nope"}),
        Refused(401),
    ),
    "header-authorization-of-100-kb": (
        lambda t: t.get(
            f"/api/collection/{t.collection_id}", headers={"Authorization": "Token " + "t" * 100_000}
        ),
        Refused(431),
    ),
    "header-body-over-10-mb": (lambda t: t.upload(b"x" * (10 * 1024 * 1024 + 1)), Refused(413)),
    "query-limit-zero": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/deals/append?limit=0"),
        Refused(422),
    ),
    "query-forged-next-token": (
        lambda t: t.get(f"/api/collection/{t.collection_id}/data/deals/append?nextToken=e30="),
        Refused(422),
    ),
}


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    # A failed first attempt would come back only after ten minutes: none is counted on here.
    with running_service(
        LOCAL_VISIBILITY_TIMEOUT="600", LOCAL_PARAMETER_OVERRIDES=f"MaxDecompressedMiB={MAX_DECOMPRESSED_MIB}"
    ) as running:
        yield running


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_input_is_refused_or_fails_whole_never_half(service: Service, case: str):
    send, expectation = CASES[case]
    target = Target(service, service.create_collection(case))

    response = send(target)

    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if isinstance(expectation, Refused):
        assert response.status_code == expectation.status, response.text[:500]
        assert response.headers["Content-Type"].startswith("application/json")
        message = response.json()["message"]
        assert isinstance(message, str)
        assert message
        assert isinstance(response.json()["errors"], list), "every error body is {message, errors}"
        return
    assert response.status_code == 202, response.text[:500]
    finished = service.wait_until_finished(target.collection_id, response.json()["id"])
    if isinstance(expectation, Fails) or (
        isinstance(expectation, WholeOrNothing) and finished["status"] == "error"
    ):
        assert finished["status"] == "error", finished
        assert finished["message"]
        assert not finished.get("rowsInserted")
        collection = target.get(f"/api/collection/{target.collection_id}").json()
        assert "deals" not in collection["dataTypes"]
        return
    assert finished["status"] == "completed", finished
    assert finished["rowsRejected"] == 0
    assert finished["rowsInserted"] + finished["rowsUpdated"] == expectation.rows
    assert finished["processedLines"] == expectation.rows
