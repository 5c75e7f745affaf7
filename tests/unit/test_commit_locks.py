"""The commit lock waits for a busy table, then gives up with TableBusy (no AWS: a stub table)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ingestion.errors import TableBusy
from ingestion.repositories.commit_locks import CommitLockRepository


class AlwaysTaken:
    """A locks table where another holder's lease never runs out."""

    def __init__(self) -> None:
        self.tries = 0

    def update_item(self, **_: object) -> None:
        self.tries += 1
        raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem")


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_table_held_longer_than_the_wait_is_busy():
    table, time = AlwaysTaken(), FakeTime()
    locks = CommitLockRepository(table, lease_seconds=30, wait_seconds=60, clock=time.clock, sleep=time.sleep)

    with pytest.raises(TableBusy, match="kept table c1/deals busy"), locks.hold("c1/deals"):
        pass

    assert time.now - 1_000_000.0 >= 60
    assert table.tries > 10  # it kept trying, with pauses of at most a second
