"""32 uploads of one table processed at the same time: all complete, and the table is exact.

The validators run as 32 threads of this process against one moto server whose Glue refuses a
stale table version, as Glue does: validation overlaps freely, commits take turns under the
table's commit lock, and Iceberg's optimistic commit would catch any that did not.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from ingestion.services.processing import UploadedObject, process_uploaded_file
from tests.integration.harness import Stack

UPLOADS = 32
KEYS = 100
ROWS_PER_UPLOAD = 20
HEADER = "id,name,creationDatetime,status,value,lastUpdateDatetime"
START = datetime(2024, 6, 1, tzinfo=UTC)


def upload_rows(upload: int) -> list[tuple[str, str, str]]:
    """(key, name, version) of the rows of one upload: keys overlap between uploads, and a
    later upload holds a later version of each key it shares with an earlier one."""
    version = (START + timedelta(minutes=upload)).strftime("%Y-%m-%dT%H:%M:%S")
    return [(f"{(upload * 7 + row) % KEYS:03}", f"deal {upload}", version) for row in range(ROWS_PER_UPLOAD)]


def as_csv(rows: list[tuple[str, str, str]]) -> bytes:
    lines = [HEADER] + [f"{key},{name},2024-05-01T08:00:00,open,10,{version}" for key, name, version in rows]
    return ("\n".join(lines) + "\n").encode()


def test_32_uploads_at_once_all_complete_and_every_key_holds_its_newest_version(stack: Stack):
    collection_id = stack.create_collection()
    keys = []
    for upload in range(UPLOADS):
        key = f"incoming/{collection_id}/deals/upload-{upload:02}.csv"
        stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=as_csv(upload_rows(upload)))
        keys.append(key)
    stack.purge_notifications()

    with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
        results = list(
            pool.map(lambda key: process_uploaded_file(UploadedObject(bucket=stack.bucket, key=key)), keys)
        )

    assert [request.status.value for request in results] == ["completed"] * UPLOADS, [
        request.message for request in results if request.status.value != "completed"
    ]
    expected: dict[str, str] = {}
    for upload in range(UPLOADS):  # later uploads hold later versions: the last writer of a key wins
        expected.update({key: name for key, name, _ in upload_rows(upload)})
    rows = stack.table_rows(collection_id)
    assert len(rows["id"]) == len(set(rows["id"])), "a key is stored twice"
    assert dict(zip(rows["id"], rows["name"], strict=True)) == expected
    inserted = sum(request.rows_inserted for request in results)
    assert inserted == len(expected)
    assert (
        inserted
        + sum(request.rows_updated for request in results)
        + sum(_stale(request.warnings) for request in results)
        == UPLOADS * ROWS_PER_UPLOAD
    )
    collection = stack.call_api("get_collection.json", collection_id=collection_id).json
    assert collection["dataTypes"]["deals"]["rowCount"] == len(expected)


def _stale(warnings: list[str] | None) -> int:
    """Rows an upload did not merge because the table already held a newer version of them."""
    for warning in warnings or []:
        if "were not merged because the collection already holds a newer version" in warning:
            return int(warning.split(" ", 1)[0])
    return 0
