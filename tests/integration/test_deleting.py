"""DELETE /api/collection/{id} and DELETE /api/collection/{id}/data/{dataType}: everything goes,
no file or record is left behind, and nothing queued before can bring any of it back."""

from __future__ import annotations

from typing import Any

from tests.integration.harness import LEADS, Stack, multipart_body

LEADS_CSV = b"id,score,updatedAt\nl1,0.5,2024-06-18T12:00:00Z\nl2,0.7,2024-06-18T12:00:00Z\n"


def keys_under(stack: Stack, prefix: str) -> list[str]:
    listed = stack.s3.list_objects_v2(Bucket=stack.bucket, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def records_of(stack: Stack, table: str, collection_id: str) -> list[dict[str, Any]]:
    items = stack.dynamodb.Table(stack.names[table]).scan()["Items"]
    return [item for item in items if collection_id in str(item)]


def catalog_tables(collection_id: str) -> list[str]:
    """The data types the Glue catalog holds a table of for the collection."""
    from ingestion.dataplane import get_catalog
    from ingestion.dataplane.dropping import collection_tables
    from ingestion.settings import get_settings

    return collection_tables(get_catalog(get_settings()), get_settings(), collection_id)


def collection_with_data(stack: Stack) -> str:
    """A collection with merged deals and leads, an export, and an upload that failed with a report."""
    collection_id = stack.create_collection()
    assert stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS).status == 201
    stack.append_file(collection_id, "deals.csv", stack.sample_csv)
    stack.append_file(collection_id, "leads.csv", LEADS_CSV, data_type="leads")
    stack.deliver_notifications()
    export = stack.call_api("export_request.json", collection_id=collection_id, body={"format": "csv"})
    assert export.status == 202
    stack.run_exports()
    assert keys_under(stack, f"warehouse/{collection_id}/")
    assert keys_under(stack, f"exports/{collection_id}/")
    return collection_id


# --------------------------------------------------------------------------- a collection


def test_a_deleted_collection_answers_404_at_once(stack: Stack):
    collection_id = stack.create_collection()

    deleted = stack.call_api("delete_collection.json", collection_id=collection_id)

    assert deleted.status == 204
    assert not deleted.body
    assert stack.call_api("get_collection.json", collection_id=collection_id).status == 404
    assert stack.call_api("append_request.json", collection_id=collection_id).status == 404


def test_the_purge_leaves_no_table_file_upload_report_export_or_record(stack: Stack):
    collection_id = collection_with_data(stack)

    assert stack.call_api("delete_collection.json", collection_id=collection_id).status == 204
    assert stack.run_purges() == [{"batchItemFailures": []}]

    for prefix in ("warehouse", "incoming", "reports", "exports"):
        assert keys_under(stack, f"{prefix}/{collection_id}/") == [], prefix
    assert catalog_tables(collection_id) == []
    for table in ("CollectionsTable", "UploadRequestsTable", "DataTypesTable", "ExportsTable"):
        assert records_of(stack, table, collection_id) == [], table


def test_other_collections_keep_everything_when_one_is_purged(stack: Stack):
    kept = collection_with_data(stack)
    deleted = collection_with_data(stack)
    files_before = keys_under(stack, f"warehouse/{kept}/")

    stack.call_api("delete_collection.json", collection_id=deleted)
    stack.run_purges()

    assert keys_under(stack, f"warehouse/{kept}/") == files_before
    assert len(stack.table_rows(kept)["id"]) == 5
    assert (
        stack.call_api("get_collection.json", collection_id=kept).json["dataTypes"]["deals"]["rowCount"] == 5
    )


def test_an_upload_still_queued_ends_error_saying_the_collection_was_deleted_and_merges_nothing(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.append_file(collection_id, "deals.csv", stack.sample_csv)

    stack.call_api("delete_collection.json", collection_id=collection_id)
    stack.deliver_notifications()

    item = stack.upload_requests.get_item(Key={"collectionKey": f"{collection_id}#deals", "id": request_id})[
        "Item"
    ]
    assert item["status"] == "error"
    assert "deleted" in item["message"]
    assert stack.table_rows(collection_id) is None


def test_an_upload_queued_before_the_purge_and_delivered_after_it_touches_nothing(stack: Stack):
    collection_id = stack.create_collection()
    stack.append_file(collection_id, "deals.csv", stack.sample_csv)

    stack.call_api("delete_collection.json", collection_id=collection_id)
    stack.run_purges()
    stack.deliver_notifications()

    assert stack.table_rows(collection_id) is None
    assert keys_under(stack, f"warehouse/{collection_id}/") == []
    assert records_of(stack, "UploadRequestsTable", collection_id) == []


def test_deleting_a_collection_twice_is_404_the_second_time(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("delete_collection.json", collection_id=collection_id)

    assert stack.call_api("delete_collection.json", collection_id=collection_id).status == 404


def test_deleting_another_tenants_collection_is_404_and_deletes_nothing(stack: Stack):
    collection_id = stack.create_collection(tenant="someone-else")

    response = stack.call_api("delete_collection.json", collection_id=collection_id)

    assert response.status == 404
    assert stack.run_purges() == []
    assert (
        stack.call_api("get_collection.json", collection_id=collection_id, tenant="someone-else").status
        == 200
    )


def test_deleting_an_unknown_collection_is_404(stack: Stack):
    response = stack.call_api("delete_collection.json", collection_id="01jd3k7q9x0m5r2c8v4b6n1t3e")

    assert response.status == 404
    assert response.json["errors"] == []


def test_a_purge_delivered_again_after_it_finished_does_nothing(stack: Stack):
    collection_id = collection_with_data(stack)
    stack.call_api("delete_collection.json", collection_id=collection_id)
    event = stack.event("sqs_purge.json", collection_id=collection_id)

    assert stack.invoke("purge", event) == {"batchItemFailures": []}
    assert stack.invoke("purge", event) == {"batchItemFailures": []}

    assert records_of(stack, "CollectionsTable", collection_id) == []


def test_a_purge_message_for_a_live_collection_leaves_it_alone(stack: Stack):
    collection_id = collection_with_data(stack)

    assert stack.invoke("purge", stack.event("sqs_purge.json", collection_id=collection_id)) == {
        "batchItemFailures": []
    }

    assert stack.call_api("get_collection.json", collection_id=collection_id).status == 200
    assert len(stack.table_rows(collection_id)["id"]) == 5


# --------------------------------------------------------------------------- a data type's rows


def test_deleting_deals_drops_its_rows_and_files_and_deals_can_be_appended_again_at_once(stack: Stack):
    collection_id = collection_with_data(stack)

    assert stack.call_api("delete_data_type.json", collection_id=collection_id).status == 204

    assert stack.table_rows(collection_id) is None
    assert keys_under(stack, f"warehouse/{collection_id}/deals/") == []
    assert "deals" not in stack.call_api("get_collection.json", collection_id=collection_id).json["dataTypes"]
    request_id = stack.append_file(collection_id, "deals.csv", stack.sample_csv)
    stack.deliver_notifications()
    assert stack.poll(collection_id, request_id)["status"] == "completed"
    assert len(stack.table_rows(collection_id)["id"]) == 5
    assert (
        stack.call_api("get_collection.json", collection_id=collection_id).json["dataTypes"]["deals"][
            "rowCount"
        ]
        == 5
    )


def test_deleting_a_declared_data_type_removes_its_declaration_and_leaves_the_others(stack: Stack):
    collection_id = collection_with_data(stack)

    response = stack.call_api("delete_data_type.json", collection_id=collection_id, data_type="leads")

    assert response.status == 204
    assert stack.call_api("get_data_type.json", collection_id=collection_id, data_type="leads").status == 404
    assert stack.table_rows(collection_id, "leads") is None
    assert keys_under(stack, f"warehouse/{collection_id}/leads/") == []
    assert len(stack.table_rows(collection_id)["id"]) == 5
    assert stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS).status == 201


def test_an_upload_sent_before_its_data_type_was_deleted_is_not_merged_after(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.append_file(collection_id, "deals.csv", stack.sample_csv)

    stack.call_api("delete_data_type.json", collection_id=collection_id)
    stack.deliver_notifications()

    finished = stack.poll(collection_id, request_id)
    assert finished["status"] == "error"
    assert "deleted after this file was uploaded" in finished["message"]
    assert stack.table_rows(collection_id) is None


def test_deleting_an_unknown_data_type_is_404(stack: Stack):
    collection_id = stack.create_collection()

    response = stack.call_api("delete_data_type.json", collection_id=collection_id, data_type="leads")

    assert response.status == 404


def test_deleting_a_data_type_of_another_tenants_collection_is_404_and_keeps_its_rows(stack: Stack):
    collection_id = stack.create_collection(tenant="someone-else")
    form = multipart_body(fields={}, file=("deals.csv", stack.sample_csv))
    assert (
        stack.call_api(
            "append_request.json", collection_id=collection_id, multipart=form, tenant="someone-else"
        ).status
        == 202
    )
    stack.deliver_notifications()

    response = stack.call_api("delete_data_type.json", collection_id=collection_id)

    assert response.status == 404
    assert len(stack.table_rows(collection_id)["id"]) == 5
