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

SEPARATOR_PATTERN = r'^[^"\r\n]$'
APPEND_SEPARATOR_PATTERN = r'^([^"\r\n]|auto)$'
# An Idempotency-Key header: printable ASCII (a UUID, a ULID, a hash...), as HTTP carries it.
IDEMPOTENCY_KEY_PATTERN = r"^[ -~]+$"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"

CollectionId = Annotated[str, Field(pattern=ULID_PATTERN, examples=["01jd3k7q9x0m5r2c8v4b6n1t3e"])]
RequestId = Annotated[str, Field(pattern=ULID_PATTERN, examples=["01jd3k8a2b3c4d5e6f7g8h9j0k"])]
ExportId = Annotated[str, Field(pattern=ULID_PATTERN, examples=["01jd3k9b3c4d5e6f7g8h9j0k1m"])]
DataTypeName = Annotated[str, Field(pattern=DATA_TYPE_PATTERN, examples=["deals"])]
# One character that can separate CSV fields: not a quote, not a line break.
Separator = Annotated[
    str, Field(min_length=1, max_length=1, pattern=SEPARATOR_PATTERN, examples=[",", ";", "\t"])
]
# What an append may ask for: a separator, or "auto" to have it detected (reported in warnings).
AppendSeparator = Annotated[
    str, Field(min_length=1, max_length=4, pattern=APPEND_SEPARATOR_PATTERN, examples=[",", ";", "auto"])
]
IdempotencyKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        examples=["7c0d9f52-3f3e-4a43-9d1e-2f1e5b1f6b0e"],
    ),
]

# What each pattern above asks for, in words: a refusal names what is expected, never the regex.
PATTERN_WORDS = {
    ULID_PATTERN: "must be an id as this API issues them: 26 lowercase letters and digits "
    "(e.g. 01jd3k7q9x0m5r2c8v4b6n1t3e)",
    DATA_TYPE_PATTERN: "must be a data type name: a lowercase letter, then at most 62 lowercase letters, "
    "digits or underscores (e.g. deals)",
    SEPARATOR_PATTERN: "must be one character that is not a quote or a line break",
    APPEND_SEPARATOR_PATTERN: "must be one character that is not a quote or a line break, or 'auto'",
    IDEMPOTENCY_KEY_PATTERN: "must be printable ASCII characters (letters, digits, punctuation, spaces), "
    "e.g. a UUID",
}

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
