"""moto's S3 event notifications, completed to the shape S3 itself sends.

moto 5 leaves out of each notification record fields that S3 always sends and that
Powertools' ``S3Model`` requires (``userIdentity``, ``requestParameters``,
``responseElements``, ``s3.bucket.ownerIdentity``) and the ``s3.object.sequencer`` that orders
events on one key; it also encodes ``/`` in the object key as ``%2F``, where S3 keeps it
(both encode a space as ``+``, so ``unquote_plus`` reads either). ``complete_s3_notifications``
wraps moto's event builder so that a moto server running in this process sends what S3 sends.
It has no effect on a moto server in another process.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote_plus

# Placeholder identities in the format S3 uses.
PRINCIPAL_ID = "AWS:AIDAIT2UOQQY3AUEKVGXU"
OWNER_ID = "A3NL1KOZZKExample"

_lock = threading.Lock()
_sequence = itertools.count()


def complete_s3_notifications() -> bool:
    """Patch moto (idempotent); False if this moto version builds its events elsewhere."""
    try:
        from moto.s3 import notifications
    except ImportError:
        return False
    with _lock:
        original = getattr(notifications, "_get_s3_event", None)
        if original is None:
            return False
        if getattr(original, "completed_by_local_stack", False):
            return True

        def _get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
            event = original(event_name, bucket, key, notification_id)
            for record in event.get("Records", []):
                complete_record(record, key_name=key.name, version_id=_version_id(bucket, key))
            return event

        _get_s3_event.completed_by_local_stack = True  # type: ignore[attr-defined]
        notifications._get_s3_event = _get_s3_event
        return True


def complete_record(record: dict[str, Any], *, key_name: str, version_id: str | None = None) -> None:
    """Add to one notification record what S3 sends and moto leaves out."""
    record.setdefault("userIdentity", {"principalId": PRINCIPAL_ID})
    record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
    record.setdefault(
        "responseElements",
        {
            "x-amz-request-id": secrets.token_hex(8).upper(),
            "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode("ascii"),
        },
    )
    s3 = record.setdefault("s3", {})
    s3.setdefault("bucket", {}).setdefault("ownerIdentity", {"principalId": OWNER_ID})
    obj = s3.setdefault("object", {})
    obj["key"] = quote_plus(key_name, safe="/")
    if version_id:
        obj.setdefault("versionId", version_id)
    obj.setdefault("sequencer", next_sequencer())


def next_sequencer() -> str:
    """An upper-case hex string that grows with every event, as S3's sequencer does for one key."""
    return f"{time.time_ns():016X}{next(_sequence) % 256:02X}"


def _version_id(bucket: Any, key: Any) -> str | None:
    version = getattr(key, "version_id", None)
    if getattr(bucket, "is_versioned", False) and version and version != "null":
        return str(version)
    return None
