"""The validator dies at each step of an upsert; the redelivered notification finishes it exactly.

The process dying is not an exception the service could handle: nothing releases the lease,
nothing cleans up. So each crash here is a BaseException that escapes every handler, the
lease is then let run out, and the same notification is delivered again, as SQS would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ingestion.repositories.collections import CollectionRepository
from ingestion.repositories.uploads import UploadRequestRepository
from tests.integration.harness import Stack, multipart_body

# Updates deals 1 and 3 of the sample (a later lastUpdateDatetime) and adds deal 6.
HEADER = b"id,name,creationDatetime,status,value,lastUpdateDatetime,closedDatetime"
INCREMENT = HEADER + (
    b"\n1,Customer A - renewed,2024-05-01T08:00:00,closed_won,1200,2024-07-01T00:00:00,2024-06-10T09:15:30"
    b"\n3,Customer C - consulting,2024-03-20T09:00:00,open,26000,2024-07-01T00:00:00,"
    b"\n6,Customer F - new,2024-06-20T09:00:00,open,300,2024-07-01T00:00:00,\n"
)


class ProcessDied(BaseException):
    """Lambda stopped the process at this point."""


def dies_after(original: Callable[..., Any]) -> Callable[..., Any]:
    def step(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise ProcessDied

    return step


def dies_before(_: Callable[..., Any]) -> Callable[..., Any]:
    def step(*args: Any, **kwargs: Any) -> Any:
        raise ProcessDied

    return step


def _dataplane_merge() -> Any:
    import ingestion.dataplane

    return ingestion.dataplane, "merge_checked"


def _commit() -> Any:
    from pyiceberg.table import Transaction

    return Transaction, "commit_transaction"


STEPS: dict[str, tuple[Callable[[], tuple[Any, str]], Callable[[Callable[..., Any]], Callable[..., Any]]]] = {
    "after the status move": (lambda: (UploadRequestRepository, "start"), dies_after),
    "after writing data files, before the commit": (_commit, dies_before),
    "after the commit": (_dataplane_merge, dies_after),
    "after recording the row count": (lambda: (CollectionRepository, "record_merge"), dies_after),
    "after the status update": (lambda: (UploadRequestRepository, "finish"), dies_after),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_crash_at_each_step_ends_exact_after_redelivery(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, step: str
):
    collection_id = stack.create_collection()
    stack.call_api("append_request.json", collection_id=collection_id)
    stack.deliver_notifications()
    body, content_type = multipart_body(fields={}, file=("increment.csv", INCREMENT))
    request_id = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    ).json["id"]
    event = stack.event(
        "sqs_s3_put.json", bucket=stack.bucket, key=f"incoming/{collection_id}/deals/api/{request_id}"
    )
    target, crash = STEPS[step]
    owner, name = target()

    with monkeypatch.context() as patch:
        patch.setattr(owner, name, crash(getattr(owner, name)))
        with pytest.raises(ProcessDied):
            stack.invoke("validator", event)
    stack.expire_leases(collection_id, request_id)
    stack.invoke("validator", event)

    request = stack.poll(collection_id, request_id)
    assert request["status"] == "completed"
    assert (request["rowsInserted"], request["rowsUpdated"]) == (1, 2)
    rows = stack.table_rows(collection_id)
    by_id = dict(zip(rows["id"], zip(rows["name"], rows["value"], strict=True), strict=True))
    assert sorted(by_id) == ["1", "2", "3", "4", "5", "6"]
    assert by_id["1"] == ("Customer A - renewed", 1200.0)
    assert by_id["3"] == ("Customer C - consulting", 26000.0)
    assert by_id["6"] == ("Customer F - new", 300.0)
    collection = stack.call_api("get_collection.json", collection_id=collection_id).json
    assert collection["dataTypes"]["deals"] == collection["dataTypes"]["deals"] | {
        "rowCount": 6,
        "lastRequestId": request_id,
    }
    assert merges_stamped_with(stack, collection_id, request_id) == 1


def merges_stamped_with(stack: Stack, collection_id: str, request_id: str) -> int:
    from ingestion.dataplane import get_catalog, table_identifier
    from ingestion.dataplane.merge import REQUEST_ID
    from ingestion.settings import get_settings

    settings = get_settings()
    table = get_catalog(settings).load_table(table_identifier(settings, collection_id, "deals"))
    return sum(
        1 for snapshot in table.metadata.snapshots if (snapshot.summary or {}).get(REQUEST_ID) == request_id
    )
