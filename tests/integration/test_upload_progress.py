"""processedLines rises while the validator reads a large file, as a progress bar shows it.

Whether a poll lands between two progress writes depends on the machine's speed, so every
progress write here waits (bounded) until the poller has seen it through the API: the test
checks what a caller can observe, not how fast the validator happens to run.
"""

from __future__ import annotations

import threading

import pytest

from ingestion.repositories.uploads import UploadRequestRepository
from tests.integration.harness import Stack

SCORES = {"fields": [{"name": "id", "type": "string", "required": True}, {"name": "score", "type": "number"}]}
ROWS = 600_000


def test_processed_lines_rise_during_processing(stack: Stack, monkeypatch: pytest.MonkeyPatch):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, data_type="scores", body=SCORES)
    content = b"id,score\n" + b"".join(b"s%d,%d.5\n" % (n, n % 100) for n in range(ROWS))
    key = f"incoming/{collection_id}/scores/scores.csv"
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=content)
    stack.purge_notifications()

    written: list[int] = []
    observed = threading.Condition()
    seen: list[int] = []
    report_progress = UploadRequestRepository.report_progress

    def report_and_wait_until_seen(self, request, processed_lines):
        recorded = report_progress(self, request, processed_lines)
        written.append(processed_lines)
        with observed:
            observed.wait_for(lambda: processed_lines in seen, timeout=10)
        return recorded

    monkeypatch.setattr(UploadRequestRepository, "report_progress", report_and_wait_until_seen)
    worker = threading.Thread(
        target=stack.invoke, args=("validator", stack.event("sqs_s3_put.json", bucket=stack.bucket, key=key))
    )
    worker.start()
    while worker.is_alive():
        items = stack.call_api(
            "list_upload_requests.json", collection_id=collection_id, data_type="scores"
        ).json["items"]
        if items and items[0]["status"] == "in_progress" and items[0]["processedLines"]:
            with observed:
                seen.append(items[0]["processedLines"])
                observed.notify_all()
    worker.join()

    final = stack.call_api("list_upload_requests.json", collection_id=collection_id, data_type="scores").json
    assert final["items"][0]["status"] == "completed"
    assert final["items"][0]["processedLines"] == ROWS
    assert len(written) >= 2, f"progress written: {written}"
    assert written == sorted(written)
    assert written[-1] <= ROWS
    assert sorted(set(seen)) == sorted(set(written)), f"written {written}, polled {sorted(set(seen))}"
    assert seen == sorted(seen)
