"""Identifiers and the reusable constrained types built on them.

Collection and upload-request ids are ULIDs in lowercase Crockford base32: 26 characters
of ``[0-9a-z]`` (safe in an S3 key, a Glue table name and a URL), unique across the
deployment, and ordered by creation time, so sorting request ids sorts them newest first.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ULID_PATTERN = r"^[0-9a-hjkmnp-tv-z]{26}$"
DATA_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

CollectionId = Annotated[str, Field(pattern=ULID_PATTERN, examples=["01jd3k7q9x0m5r2c8v4b6n1t3e"])]
RequestId = Annotated[str, Field(pattern=ULID_PATTERN)]
DataTypeName = Annotated[str, Field(pattern=DATA_TYPE_PATTERN, examples=["deals"])]
# One character that can separate CSV fields: not a quote, not a line break.
Separator = Annotated[
    str, Field(min_length=1, max_length=1, pattern=r'^[^"\r\n]$', examples=[",", ";", "\t"])
]
# What an append may ask for: a separator, or "auto" to have it detected (reported in warnings).
AppendSeparator = Annotated[
    str, Field(min_length=1, max_length=4, pattern=r'^([^"\r\n]|auto)$', examples=[",", ";", "auto"])
]

_ULID_RE = re.compile(ULID_PATTERN)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_ulid(at: datetime | None = None, entropy: bytes | None = None) -> str:
    """A ULID for time ``at`` (default now). Pass ``entropy`` (10+ bytes) for a deterministic id."""
    moment = at or datetime.now(UTC)
    millis = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    randomness = int.from_bytes((entropy or os.urandom(10))[:10], "big")
    return _encode(millis, 10) + _encode(randomness, 16)


def is_ulid(value: str) -> bool:
    return bool(_ULID_RE.match(value))


def request_id_for_object(bucket: str, key: str, version: str, created: datetime) -> str:
    """The id of the upload request for a file dropped straight into the bucket.

    Derived from the object itself (its bucket, key, version id or ETag, and when it was
    written), never from the notification: S3 may announce one object more than once (a
    multipart upload can be announced as ``Put`` and as ``CompleteMultipartUpload``, a
    notification can be sent again with another ``eventTime``), and every announcement, like the
    validator and the dead-letter function, must name the same request.
    """
    digest = hashlib.sha256(f"{bucket}\n{key}\n{version}".encode()).digest()
    return new_ulid(at=created, entropy=digest)
