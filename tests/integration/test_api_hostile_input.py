"""Bodies that are not what they claim: nothing is stored, and the answer says what was wrong."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.integration.harness import LEADS, Stack, multipart_body

TEN_ROWS = b"id,name,creationDatetime,status,value,lastUpdateDatetime\n" + b"".join(
    b"%d,Deal %d,2024-05-01T08:00:00,open,10,2024-06-01T00:00:00\n" % (n, n) for n in range(10)
)
DEEP = "[" * 2000 + "]" * 2000


def stored_uploads(stack: Stack, collection_id: str) -> list[str]:
    listed = stack.s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"incoming/{collection_id}/")
    return [item["Key"] for item in listed.get("Contents", [])]


def cut_after_row(body: bytes, row: int) -> bytes:
    """The body as a dropped connection leaves it: everything after data row ``row`` is missing."""
    end = body.index(b"%d,Deal %d," % (row, row))
    return body[: body.index(b"\n", end) + 1]


def test_a_multipart_body_cut_short_is_400_and_nothing_is_stored(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={"separator": ","}, file=("deals.csv", TEN_ROWS))

    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(cut_after_row(body, 4), content_type)
    )

    assert response.status == 400
    assert "closing boundary" in response.json["message"]
    assert response.json["errors"] == [{"field": "body", "message": response.json["message"]}]
    assert stored_uploads(stack, collection_id) == []
    assert stack.upload_request_count() == 0


def test_a_multipart_body_framed_with_another_boundary_is_400_and_nothing_is_stored(stack: Stack):
    collection_id = stack.create_collection()
    body, _ = multipart_body(fields={"separator": ","}, file=("deals.csv", TEN_ROWS))

    response = stack.call_api(
        "append_request.json",
        collection_id=collection_id,
        multipart=(body, "multipart/form-data; boundary=not-the-one-used"),
    )

    assert response.status == 400
    assert "not-the-one-used" in response.json["message"]
    assert stored_uploads(stack, collection_id) == []


def test_a_body_cut_before_its_file_part_is_400_not_a_missing_field(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={"separator": ","}, file=("deals.csv", TEN_ROWS))

    response = stack.call_api(
        "append_request.json",
        collection_id=collection_id,
        multipart=(body[: body.index(b'name="file"')], content_type),
    )

    assert response.status == 400
    assert "cut short" in response.json["message"]


def test_a_complete_body_with_an_epilogue_is_accepted(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={}, file=("deals.csv", TEN_ROWS))

    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body + b"\r\nepilogue", content_type)
    )

    assert response.status == 202
    stored = stack.s3.get_object(Bucket=stack.bucket, Key=stored_uploads(stack, collection_id)[0])
    assert stored["Body"].read() == TEN_ROWS


@pytest.mark.parametrize("route", ["create_collection", "declare_data_type", "append_rows_json"])
def test_deeply_nested_json_on_every_json_route_is_422(stack: Stack, route: str):
    collection_id = stack.create_collection()
    raw = {
        "create_collection": '{"name": ' + DEEP + "}",
        "declare_data_type": '{"fields": ' + DEEP + "}",
        "append_rows_json": '{"rows": [{"id": ' + DEEP + "}]}",
    }[route]

    response = stack.call_api(f"{route}.json", collection_id=collection_id, data_type="leads", raw_body=raw)

    assert response.status == 422
    assert "more than 32 levels deep" in response.json["message"]
    assert response.json["errors"][0]["field"] == "body"


def test_a_file_name_with_line_breaks_is_stored_on_one_line(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={}, file=("deals\nX-Injected: 1\t.csv", TEN_ROWS))

    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )

    assert response.status == 202
    assert response.json["fileName"] == "deals_X-Injected: 1_.csv"


def test_a_file_name_of_a_thousand_emoji_keeps_the_metadata_within_s3s_limit(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={}, file=("😀" * 1000 + ".csv", TEN_ROWS))

    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )

    assert response.status == 202
    head = stack.s3.head_object(Bucket=stack.bucket, Key=stored_uploads(stack, collection_id)[0])
    assert sum(len(key) + len(value) for key, value in head["Metadata"].items()) <= 2048
    assert head["Metadata"]["file-name"] == quote(response.json["fileName"], safe="")


def test_a_declared_type_body_within_the_nesting_limit_is_accepted(stack: Stack):
    collection_id = stack.create_collection()

    response = stack.call_api(
        "declare_data_type.json", collection_id=collection_id, data_type="leads", raw_body=json.dumps(LEADS)
    )

    assert response.status == 201


def test_two_files_in_one_body_are_422_and_nothing_is_stored(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={}, file=("a.csv", TEN_ROWS))
    boundary = content_type.split("boundary=")[1]
    second = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.csv"\r\n\r\n'.encode()
        + TEN_ROWS
        + b"\r\n"
    )
    body = second + body

    response = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    )

    assert response.status == 422
    assert "one file per request" in response.json["message"]
    assert stored_uploads(stack, collection_id) == []
