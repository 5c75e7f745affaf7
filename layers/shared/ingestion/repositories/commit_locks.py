"""Per-table commit locks (DynamoDB ``CommitLocksTable``): merges into one Iceberg table take turns.

Iceberg commits are optimistic: two writers that read the same table version both write their
files, and the second commit fails and must start its merge over. With many uploads of one
table at once most attempts would be wasted and some uploads would run out of them. So the
merge (read stored keys, write files, commit) runs under a lock per table, while validation,
the expensive part, stays parallel.

The lock is a lease: the table's item names its holder and when the lease expires, taken with
a conditional write. The holder renews it from a background thread while it works, so a holder
that crashed blocks the table for one lease at most. The lock only saves wasted work:
correctness still rests on Iceberg's optimistic commit, which refuses a writer whose lease
ran out unnoticed.

The item also keeps the table's **unrecorded merges**: the snapshot an upload is about to
commit, noted under the lock just before the commit and forgotten once the upload's outcome is
recorded. A snapshot noted there is one a redelivered upload may still need to find (the
merge recognises an upload it already committed by the request id on its snapshot), so
snapshot expiry keeps it whatever its age. Noting it is also the holder's last check that
the lock is still its own before it commits.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ingestion import aws
from ingestion.errors import TableBusy
from ingestion.observability import logger
from ingestion.settings import get_settings

# First and longest pause between two tries to take a busy lock (jittered).
_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 1.0
_UNRECORDED = "unrecorded"


class LockLost(RuntimeError):
    """The lease ran out and another writer took the table: this one must not commit."""


@dataclass
class HeldLock:
    """The lock as its holder sees it: the snapshots to keep, and a way to add one."""

    name: str
    owner: str
    kept_snapshots: set[int]
    _note: Callable[[str, str, Sequence[str], int], None]

    def keep_snapshot(self, request_ids: Sequence[str], snapshot_id: int) -> None:
        """Note that ``request_ids`` (one upload, or a group merged together) commit
        ``snapshot_id`` next; :class:`LockLost` if the lock is no longer held."""
        if isinstance(request_ids, str) or not request_ids:
            raise TypeError("request_ids is a non-empty sequence of request ids")
        self._note(self.name, self.owner, request_ids, snapshot_id)
        self.kept_snapshots.add(snapshot_id)


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
    def hold(self, name: str) -> Iterator[HeldLock]:
        """Hold the lock named ``name`` for the ``with`` block; :class:`TableBusy` if it stays
        taken for ``wait_seconds``."""
        owner = uuid.uuid4().hex
        lock = self._acquire(name, owner)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(name, owner, stop), daemon=True)
        renewer.start()
        try:
            yield lock
        finally:
            stop.set()
            renewer.join()
            self._release(name, owner)

    def forget(self, name: str, request_id: str) -> None:
        """The outcome of ``request_id`` is recorded: its snapshot need not be kept any more."""
        try:
            self._table.update_item(
                Key={"tableId": name},
                UpdateExpression="REMOVE #unrecorded.#request",
                ConditionExpression="attribute_exists(#unrecorded.#request)",
                ExpressionAttributeNames={"#unrecorded": _UNRECORDED, "#request": request_id},
            )
        except ClientError as error:
            if not _is_condition_failure(error):  # nothing noted for it: nothing to forget
                raise

    def _acquire(self, name: str, owner: str) -> HeldLock:
        lock = self._try_take(name, owner)
        if lock is not None:
            return lock
        started = self._clock()
        pause = _FIRST_PAUSE
        while (lock := self._try_take(name, owner)) is None:
            waited = self._clock() - started
            if waited >= self.wait_seconds:
                raise TableBusy(
                    f"other uploads kept table {name} busy for {waited:.0f} s; "
                    "this upload is tried again later"
                )
            self._sleep(pause * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not crypto
            pause = min(pause * 2, _LONGEST_PAUSE)
        logger.info(
            "commit lock taken after waiting",
            extra={"lock": name, "waited_seconds": round(self._clock() - started, 3)},
        )
        return lock

    def _try_take(self, name: str, owner: str) -> HeldLock | None:
        now = self._clock()
        try:
            item = self._table.update_item(
                Key={"tableId": name},
                UpdateExpression=(
                    "SET #owner = :owner, expiresAt = :expires, "
                    "#unrecorded = if_not_exists(#unrecorded, :none)"
                ),
                ConditionExpression="attribute_not_exists(#owner) OR expiresAt < :now",
                ExpressionAttributeNames={"#owner": "owner", "#unrecorded": _UNRECORDED},
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":expires": int(now + self.lease_seconds) + 1,
                    ":now": int(now),
                    ":none": {},
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        kept = {int(snapshot) for snapshot in (item.get(_UNRECORDED) or {}).values()}
        return HeldLock(name=name, owner=owner, kept_snapshots=kept, _note=self._note)

    def _note(self, name: str, owner: str, request_ids: Sequence[str], snapshot_id: int) -> None:
        requests = {f"#request{number}": request_id for number, request_id in enumerate(request_ids)}
        try:
            self._table.update_item(
                Key={"tableId": name},
                UpdateExpression="SET "
                + ", ".join(f"#unrecorded.{placeholder} = :snapshot" for placeholder in requests),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner", "#unrecorded": _UNRECORDED} | requests,
                ExpressionAttributeValues={":owner": owner, ":snapshot": str(snapshot_id)},
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise LockLost(f"the commit lock of {name} ran out and was taken over") from None
            raise

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
                # Lost (a pause longer than the lease) or unreachable: noting the snapshot
                # before the commit checks ownership again, and the commit's own check
                # refuses a stale writer.
                logger.warning("commit lock not renewed", extra={"lock": name, "error": str(error)})
                if _is_condition_failure(error):
                    return

    def _release(self, name: str, owner: str) -> None:
        try:
            self._table.update_item(
                Key={"tableId": name},
                UpdateExpression="REMOVE #owner, expiresAt",
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
