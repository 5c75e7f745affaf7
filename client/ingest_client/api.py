"""The service's HTTP API: one method per route, answers as the API's JSON.

Every request carries ``Authorization: Token <token>``. A 429 is sent again after its
``Retry-After`` seconds, a bounded number of times; any other refusal raises :class:`ApiError`
with the API's message (its bodies are ``{"message", "errors": [{"field", "message"}]}``).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import requests

DEFAULT_API_URL = "http://127.0.0.1:3000"
# (connect, read) seconds for the API's answers.
TIMEOUT = (10, 120)
# A 429 is retried this many times at most, each wait capped: an answer asking for longer (a
# quota spent for the day) is reported instead of waited for.
MAX_THROTTLE_RETRIES = 5
MAX_RETRY_AFTER_SECONDS = 30.0
DOWNLOAD_CHUNK = 256 * 1024


@dataclass
class ApiError(Exception):
    """A refusal from the API (or from the storage behind an upload or download URL)."""

    status: int
    message: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    body: Any = None

    def __str__(self) -> str:
        return self.message

    @property
    def is_auth(self) -> bool:
        """401, or a collection that does not exist for this token (another tenant's is a 404 too)."""
        if self.status == 401:
            return True
        return self.status == 404 and self.message.startswith("collection ")


class ConnectionFailed(Exception):
    """The API could not be reached (or answered something that is not the API)."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header's delay in seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_from_response(response: requests.Response) -> ApiError:
    """The API's error body as an :class:`ApiError`; any other body gives its status and text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        errors = [item for item in body.get("errors") or [] if isinstance(item, dict)]
        message = body["message"]
        details = [_detail(item) for item in errors if item.get("message")]
        details = [detail for detail in details if detail not in message]
        if details:
            message = f"{message}: {'; '.join(details)}"
        return ApiError(response.status_code, message, errors, body)
    text = " ".join(response.text.split())[:300]
    reason = response.reason or "error"
    return ApiError(response.status_code, f"HTTP {response.status_code} {reason}: {text}".rstrip(": "))


class Api:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_throttled: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "ingest-client"
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
        self._sleep = sleep
        self._on_throttled = on_throttled

    # -- plumbing -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}/api{path}"

    def request(
        self, method: str, path: str, *, rewind: Callable[[], None] | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send one request, again after each 429's Retry-After (``rewind`` resets a streamed body)."""
        url = self.url(path)
        for attempt in range(MAX_THROTTLE_RETRIES + 1):
            try:
                response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
            except requests.exceptions.RequestException as error:
                raise ConnectionFailed(f"cannot reach the API at {self.base_url}: {_reason(error)}") from None
            if response.status_code != 429 or attempt == MAX_THROTTLE_RETRIES:
                break
            delay = retry_after_seconds(response.headers.get("Retry-After"))
            if delay is None:
                delay = float(2**attempt)
            if delay > MAX_RETRY_AFTER_SECONDS:
                break
            if self._on_throttled:
                self._on_throttled(delay)
            self._sleep(delay)
            if rewind:
                rewind()
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ConnectionFailed(
                f"{self.base_url} answered {method} {path} with something that is not the API's JSON "
                "(is --api the base URL where /api lives?)"
            ) from None

    # -- collections ----------------------------------------------------------------------------

    def create_collection(self, name: str) -> dict[str, Any]:
        return self.json("POST", "/collection", json={"name": name})

    def list_collections(self, limit: int | None = None, next_token: str | None = None) -> dict[str, Any]:
        return self.json("GET", "/collection", params=_query(limit=limit, nextToken=next_token))

    def get_collection(self, collection_id: str) -> dict[str, Any]:
        return self.json("GET", f"/collection/{collection_id}")

    def delete_collection(self, collection_id: str) -> None:
        self.request("DELETE", f"/collection/{collection_id}")

    # -- uploads --------------------------------------------------------------------------------

    @staticmethod
    def append_path(collection_id: str, data_type: str) -> str:
        return f"/collection/{collection_id}/data/{data_type}/append"

    def append_file(
        self,
        collection_id: str,
        data_type: str,
        body: BinaryIO,
        content_type: str,
    ) -> dict[str, Any]:
        """POST a multipart body (built by :mod:`ingest_client.transfer`) to the append route."""
        return self.json(
            "POST",
            self.append_path(collection_id, data_type),
            data=body,
            headers={"Content-Type": content_type},
            rewind=lambda: body.seek(0),
        )

    def upload_url(self, collection_id: str, data_type: str, options: dict[str, Any]) -> dict[str, Any]:
        return self.json("POST", self.append_path(collection_id, data_type) + "/upload-url", json=options)

    def upload_request(self, collection_id: str, data_type: str, request_id: str) -> dict[str, Any]:
        return self.json("GET", f"{self.append_path(collection_id, data_type)}/{request_id}")

    def upload_requests(
        self, collection_id: str, data_type: str, limit: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        params = _query(limit=limit, nextToken=next_token)
        return self.json("GET", self.append_path(collection_id, data_type), params=params)

    def errors_path(self, collection_id: str, data_type: str, request_id: str) -> str:
        return f"{self.append_path(collection_id, data_type)}/{request_id}/errors"

    def errors_file(self, collection_id: str, data_type: str, request_id: str) -> bytes:
        # A large file is a 303 to a download URL; requests follows it, and drops the token when
        # the redirect leaves the API's host.
        return self.request("GET", self.errors_path(collection_id, data_type, request_id)).content

    # -- rows and exports -----------------------------------------------------------------------

    def rows(
        self,
        collection_id: str,
        data_type: str,
        limit: int | None = None,
        key: str | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        params = _query(limit=limit, id=key, nextToken=next_token)
        return self.json("GET", f"/collection/{collection_id}/data/{data_type}/rows", params=params)

    def start_export(self, collection_id: str, data_type: str, export_format: str) -> dict[str, Any]:
        path = f"/collection/{collection_id}/data/{data_type}/export"
        return self.json("POST", path, json={"format": export_format})

    def export(self, collection_id: str, data_type: str, export_id: str) -> dict[str, Any]:
        return self.json("GET", f"/collection/{collection_id}/data/{data_type}/export/{export_id}")

    # -- the storage's URLs (no token: the URL carries its own signature) -----------------------

    def put_to_url(self, url: str, headers: dict[str, str], body: BinaryIO) -> None:
        try:
            response = requests.put(url, data=body, headers=headers, timeout=(10, 600))
        except requests.exceptions.RequestException as error:
            raise ConnectionFailed(f"cannot send the file to its upload URL: {_reason(error)}") from None
        if response.status_code >= 300:
            raise error_from_response(response)

    def download(self, url: str) -> Iterator[tuple[int | None, bytes]]:
        """The file at ``url`` in chunks, each with the file's total size when it is known."""
        try:
            with requests.get(url, stream=True, timeout=(10, 300)) as response:
                if response.status_code >= 300:
                    raise error_from_response(response)
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    yield total, chunk
        except requests.exceptions.RequestException as error:
            raise ConnectionFailed(f"cannot download {url.split('?')[0]}: {_reason(error)}") from None


def _detail(item: dict[str, Any]) -> str:
    """One field's complaint, named by its field unless the message starts with it already."""
    field_name, text = item.get("field"), str(item.get("message"))
    return text if not field_name or text.startswith(str(field_name)) else f"{field_name}: {text}"


def _query(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _reason(error: Exception) -> str:
    """The last, most specific line of a requests error, without its object reprs."""
    text = str(error)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    return text.strip("()'\" ") or type(error).__name__
