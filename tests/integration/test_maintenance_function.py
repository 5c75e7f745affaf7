"""The scheduled maintenance function, on the stack's own tables."""

from __future__ import annotations

from tests.integration.harness import Stack

NOTES = {"fields": [{"name": "text", "type": "string"}]}


def test_the_daily_run_compacts_every_table_and_keeps_its_rows(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, data_type="notes", body=NOTES)
    for number in range(6):  # a keyless type: one file per upload
        stack.append_file(collection_id, f"notes-{number}.csv", b"text\nnote %d\n" % number, "notes")
        stack.deliver_notifications()
    stack.call_api("append_request.json", collection_id=collection_id)
    stack.deliver_notifications()

    result = stack.invoke("maintenance", stack.event("maintenance_schedule.json"))

    assert result["tables"] == 2
    assert result["filesBefore"] > result["filesAfter"]
    assert sorted(stack.table_rows(collection_id, "notes")["text"]) == [f"note {n}" for n in range(6)]
    assert len(stack.table_rows(collection_id)["id"]) == 5
