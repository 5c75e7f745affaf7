"""Per-table commit locks (DynamoDB ``CommitLocksTable``): merges into one Iceberg table take turns.

Iceberg commits are optimistic: two writers that read the same table version both write their
files, and the second commit fails and must start its merge over. With many uploads of one
table at once most attempts would be wasted and some uploads would run out of them. So the
merge (read stored keys, write files, commit) runs under a lock per table, while validation,
the expensive part, stays parallel.

The lock is a lease: an item naming its holder and when it expires, taken with a conditional
write. The holder renews it from a background thread while it works, so a holder that crashed
blocks the table for one lease at most. The lock only saves wasted work: correctness still
rests on Iceberg's optimistic commit, which refuses a writer whose lease ran out unnoticed.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from ingestion import aws
from ingestion.errors import TableBusy
from ingestion.observability import logger
from ingestion.settings import get_settings

# First and longest pause between two tries to take a busy lock (jittered).
_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 1.0


class CommitLockRepository:
    def __init__(
        self,
        table: Any,
        *,
        lease_seconds: float,
        wait_seconds: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._sleep = sleep

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold the lock named ``name`` for the ``with`` block; :class:`TableBusy` if it stays
        taken for ``wait_seconds``."""
        owner = uuid.uuid4().hex
        waited = self._acquire(name, owner)
        if waited is not None:
            logger.info("commit lock taken after waiting", extra={"lock": name, "waited_seconds": waited})
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(name, owner, stop), daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self._release(name, owner)

    def _acquire(self, name: str, owner: str) -> float | None:
        """Take the lock; how long that took if it was busy at first, else None."""
        if self._try_take(name, owner):
            return None
        started = self._clock()
        pause = _FIRST_PAUSE
        while not self._try_take(name, owner):
            waited = self._clock() - started
            if waited >= self.wait_seconds:
                raise TableBusy(
                    f"other uploads kept table {name} busy for {waited:.0f} s; "
                    "this upload is tried again later"
                )
            self._sleep(pause * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto
            pause = min(pause * 2, _LONGEST_PAUSE)
        return round(self._clock() - started, 3)

    def _try_take(self, name: str, owner: str) -> bool:
        now = self._clock()
        try:
            self._table.put_item(
                Item={"tableId": name, "owner": owner, "expiresAt": int(now + self.lease_seconds) + 1},
                ConditionExpression="attribute_not_exists(tableId) OR expiresAt < :now",
                ExpressionAttributeValues={":now": int(now)},
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def _renew(self, name: str, owner: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            try:
                self._table.update_item(
                    Key={"tableId": name},
                    UpdateExpression="SET expiresAt = :expires",
                    ConditionExpression="#owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={
                        ":owner": owner,
                        ":expires": int(self._clock() + self.lease_seconds) + 1,
                    },
                )
            except ClientError as error:
                # Lost (a pause longer than the lease) or unreachable: the commit's own check
                # still refuses a stale writer, so carry on and let it decide.
                logger.warning("commit lock not renewed", extra={"lock": name, "error": str(error)})
                if _is_condition_failure(error):
                    return

    def _release(self, name: str, owner: str) -> None:
        try:
            self._table.delete_item(
                Key={"tableId": name},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                # The lease runs out by itself; nothing else waits on this.
                logger.warning("commit lock not released", extra={"lock": name, "error": str(error)})


def _is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def get_commit_lock_repository() -> CommitLockRepository:
    """The default instance; cheap, since the boto3 objects behind it are cached."""
    settings = get_settings()
    return CommitLockRepository(
        aws.table(settings.commit_locks_table),
        lease_seconds=settings.commit_lock_lease_seconds,
        wait_seconds=settings.commit_lock_wait_seconds,
    )
