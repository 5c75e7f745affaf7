"""processedLines rises while the validator reads a large file, as a progress bar shows it."""

from __future__ import annotations

import threading
import time

from tests.integration.harness import Stack

SCORES = {"fields": [{"name": "id", "type": "string", "required": True}, {"name": "score", "type": "number"}]}
ROWS = 600_000


def test_processed_lines_rise_during_processing(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, data_type="scores", body=SCORES)
    content = b"id,score\n" + b"".join(b"s%d,%d.5\n" % (n, n % 100) for n in range(ROWS))
    key = f"incoming/{collection_id}/scores/scores.csv"
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=content)
    stack.purge_notifications()
    seen: list[int] = []

    worker = threading.Thread(
        target=stack.invoke, args=("validator", stack.event("sqs_s3_put.json", bucket=stack.bucket, key=key))
    )
    worker.start()
    while worker.is_alive():
        items = stack.call_api(
            "list_upload_requests.json", collection_id=collection_id, data_type="scores"
        ).json["items"]
        if items and items[0]["status"] == "in_progress" and items[0]["processedLines"]:
            seen.append(items[0]["processedLines"])
        time.sleep(0.05)
    worker.join()

    final = stack.call_api("list_upload_requests.json", collection_id=collection_id, data_type="scores").json
    assert final["items"][0]["status"] == "completed"
    assert final["items"][0]["processedLines"] == ROWS
    rising = sorted(set(seen))
    assert len(rising) >= 2, f"progress seen: {seen}"
    assert seen == sorted(seen)
    assert rising[-1] <= ROWS
