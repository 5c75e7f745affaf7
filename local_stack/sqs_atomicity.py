"""moto's SQS receives made one at a time per queue, so that a message goes to one receiver.

In SQS a received message is invisible to every other receiver until its visibility timeout.
moto's server answers each request in a thread of its own, and its receive checks that a
message is visible, then marks it received, with nothing to stop another thread in between:
two pollers receiving from one queue at once can both get the same message (in a quick trial,
a message sent to four waiting receivers went to two of them one time in two). The functions
are idempotent, so nothing is merged twice, but a file is then processed by two invocations
at once, one of which finds the other's lease and fails for nothing.

``serialize_sqs_receives`` runs moto's receives of one queue one at a time, long polls
included (a waiting receiver of a queue would get nothing another one did not take first);
receives from other queues and every other action stay concurrent. Like
:mod:`local_stack.dynamodb_atomicity`, it affects only a moto server running in this process.
"""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from typing import Any

_queue_locks: defaultdict[tuple[int, str], threading.Lock] = defaultdict(threading.Lock)
_patch_lock = threading.Lock()


def serialize_sqs_receives() -> bool:
    """Patch moto (idempotent); False if this moto version receives elsewhere."""
    try:
        from moto.sqs.models import SQSBackend
    except ImportError:
        return False
    with _patch_lock:
        receive = getattr(SQSBackend, "receive_message", None)
        if receive is None:
            return False
        if not getattr(receive, "serialized_by_local_stack", False):
            SQSBackend.receive_message = _one_receiver_per_queue(receive)  # type: ignore[method-assign]
    return True


def _one_receiver_per_queue(receive: Any) -> Any:
    @functools.wraps(receive)
    def serialized(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with _patch_lock:
            lock = _queue_locks[(id(self), queue_name)]
        with lock:
            return receive(self, queue_name, *args, **kwargs)

    serialized.serialized_by_local_stack = True  # type: ignore[attr-defined]
    return serialized
