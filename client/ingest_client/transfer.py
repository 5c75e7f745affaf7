"""Moving files and waiting for the service: the two upload routes, the export download, and
polling an upload request or an export until it is finished.

A file up to the direct limit (4 MiB: a multipart body reaches the API's function base64-encoded,
and Lambda takes events up to 6 MB) is posted to the append route; a larger one is PUT to an
upload URL, streamed from disk.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from urllib3 import encode_multipart_formdata

from ingest_client.api import Api

DEFAULT_DIRECT_LIMIT = 4 * 1024 * 1024
DIRECT_LIMIT_ENV = "INGEST_DIRECT_LIMIT_BYTES"
FINAL_STATUSES = ("completed", "error")
# Seconds between two polls: quick at first, then every few seconds for a long merge.
POLL_INTERVALS = (0.5, 0.5, 1.0, 1.0, 2.0)
POLL_INTERVAL_MAX = 3.0
MEDIA_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".ndjson": "application/x-ndjson",
    ".jsonl": "application/x-ndjson",
}


class Progress(Protocol):
    """Where the bytes sent or received are counted (a bar, plain lines, or nothing)."""

    def advance(self, amount: int) -> None: ...

    def reset(self) -> None: ...


@dataclass
class UploadOptions:
    data_type: str = "deals"
    separator: str = ","
    max_bad_records: int = 0
    allow_field_addition: bool = False


class ProgressReader:
    """A binary file read in blocks by the HTTP client, each block counted on ``progress``.

    ``__len__`` gives requests the Content-Length, so the body is sent as it is read, never held
    whole in memory (and never chunked: storage URLs want a length).
    """

    def __init__(self, stream: BinaryIO, length: int, progress: Progress) -> None:
        self._stream = stream
        self._length = length
        self._progress = progress

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        block = self._stream.read(size)
        if block:
            self._progress.advance(len(block))
        return block

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._stream.seek(offset, whence)
        if position == 0:
            self._progress.reset()
        return position


def direct_limit(option: int | None) -> int:
    """Largest file posted to the append route: the option, else $INGEST_DIRECT_LIMIT_BYTES, else 4 MiB."""
    if option is not None:
        return option
    value = os.environ.get(DIRECT_LIMIT_ENV, "").strip()
    if value:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{DIRECT_LIMIT_ENV} must be a number of bytes, not {value!r}") from None
    return DEFAULT_DIRECT_LIMIT


def uses_upload_url(size: int, limit: int) -> bool:
    """Whether a file of ``size`` bytes goes through an upload URL (above the limit) or is posted."""
    return size > limit


def multipart_body(path: Path, options: UploadOptions) -> tuple[bytes, str]:
    """The append route's form: the file and its options. Only built for files under the limit."""
    fields: dict[str, Any] = {
        "separator": options.separator,
        "maxBadRecords": str(options.max_bad_records),
        "allowFieldAddition": "true" if options.allow_field_addition else "false",
        "file": (path.name, path.read_bytes(), "application/octet-stream"),
    }
    return encode_multipart_formdata(fields)


def post_body(
    api: Api, collection_id: str, data_type: str, form: tuple[bytes, str], progress: Progress
) -> dict:
    """The form (:func:`multipart_body`) posted to the append route: its 202 UploadRequest."""
    body, content_type = form
    reader = ProgressReader(io.BytesIO(body), len(body), progress)
    return api.append_file(collection_id, data_type, reader, content_type)  # type: ignore[arg-type]


def ask_upload_url(api: Api, collection_id: str, path: Path, options: UploadOptions) -> dict[str, Any]:
    """The 201 answer naming the URL to PUT the file to and the headers the PUT must carry."""
    body: dict[str, Any] = {
        "fileName": path.name,
        "separator": options.separator,
        "maxBadRecords": options.max_bad_records,
        "allowFieldAddition": options.allow_field_addition,
    }
    media_type = MEDIA_TYPES.get(path.suffix.lower())
    if media_type:
        body["contentType"] = media_type
    return api.upload_url(collection_id, options.data_type, body)


def put_file(api: Api, target: dict[str, Any], path: Path, size: int, progress: Progress) -> None:
    """PUT the file's bytes to the upload URL with exactly the headers it names, read from disk."""
    with path.open("rb") as stream:
        reader = ProgressReader(stream, size, progress)
        api.put_to_url(target["uploadUrl"], dict(target.get("headers") or {}), reader)  # type: ignore[arg-type]


def poll(
    fetch: Callable[[], dict[str, Any]],
    on_update: Callable[[dict[str, Any]], None],
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Fetch until the status is completed or error, showing each answer; the last answer."""
    attempt = 0
    while True:
        body = fetch()
        on_update(body)
        if body.get("status") in FINAL_STATUSES:
            return body
        sleep(POLL_INTERVALS[attempt] if attempt < len(POLL_INTERVALS) else POLL_INTERVAL_MAX)
        attempt += 1


def download(
    api: Api, url: str, destination: Path, bar: Callable[[int | None], AbstractContextManager[Progress]]
) -> int:
    """Stream ``url`` into ``destination`` (through a partial file beside it), counted on a bar
    opened with the file's size once the answer gives it; the bytes written."""
    partial = destination.with_name(destination.name + ".part")
    written = 0
    try:
        with ExitStack() as stack, partial.open("wb") as out:
            progress: Progress | None = None
            for total, chunk in api.download(url):
                if progress is None:
                    progress = stack.enter_context(bar(total))
                out.write(chunk)
                written += len(chunk)
                progress.advance(len(chunk))
            if progress is None:
                stack.enter_context(bar(0))
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)
    return written
