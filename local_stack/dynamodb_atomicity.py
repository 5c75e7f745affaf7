"""moto's DynamoDB writes made one at a time, so that a conditional write is atomic as in DynamoDB.

In DynamoDB a conditional write is one step: of two writers racing to take a commit lock
(``attribute_not_exists(owner) OR expiresAt < :now``), exactly one's condition holds. moto's
server answers each request in a thread of its own and evaluates the condition, then writes,
with nothing to stop another thread in between: two writers can both pass, the second silently
overwriting the first. The commit lock (:mod:`ingestion.repositories.commit_locks`) notices
before committing and gives up (``LockLost``), so no data is lost, but an upload fails locally
that would simply have waited its turn in AWS.

``serialize_dynamodb_writes`` runs moto's DynamoDB write actions one at a time; reads stay
concurrent. Like :mod:`local_stack.glue_concurrency`, it affects only a moto server running in
this process.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

# Every action that may evaluate a condition and then write.
WRITE_ACTIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)

_write_lock = threading.RLock()
_patch_lock = threading.Lock()


def serialize_dynamodb_writes() -> bool:
    """Patch moto (idempotent); False if this moto version answers DynamoDB elsewhere."""
    try:
        from moto.dynamodb.responses import DynamoHandler
    except ImportError:
        return False
    with _patch_lock:
        for action in WRITE_ACTIONS:
            original = getattr(DynamoHandler, action, None)
            if original is None or getattr(original, "serialized_by_local_stack", False):
                continue
            setattr(DynamoHandler, action, _one_at_a_time(original))
    return True


def _one_at_a_time(action: Any) -> Any:
    @functools.wraps(action)
    def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return action(self, *args, **kwargs)

    serialized.serialized_by_local_stack = True  # type: ignore[attr-defined]
    return serialized
