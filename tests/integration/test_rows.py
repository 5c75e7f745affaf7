"""GET /api/collection/{id}/data/{dataType}/rows: rows as typed JSON, in key order, paged."""

from __future__ import annotations

import json

import pytest

from tests.integration.harness import LEADS, Stack

UNORDERED = {"fields": [{"name": "note", "type": "string"}, {"name": "n", "type": "integer"}]}
EVERY_TYPE = {
    "fields": [
        {"name": "code", "type": "integer", "required": True},
        {"name": "label", "type": "string"},
        {"name": "price", "type": "number"},
        {"name": "active", "type": "boolean"},
        {"name": "seenAt", "type": "datetime"},
        {"name": "day", "type": "date"},
    ],
    "key": "code",
}


def merged(stack: Stack, collection_id: str, name: str, content: bytes, data_type: str = "deals") -> None:
    request_id = stack.append_file(collection_id, name, content, data_type=data_type)
    stack.deliver_notifications()
    assert stack.poll(collection_id, request_id, data_type)["status"] == "completed"


def rows(stack: Stack, collection_id: str, data_type: str = "deals", **query: str):
    return stack.call_api("get_rows.json", collection_id=collection_id, data_type=data_type, query=query)


def every_page(stack: Stack, collection_id: str, data_type: str, limit: int) -> list[list[dict]]:
    pages, token = [], None
    while True:
        response = rows(
            stack, collection_id, data_type, limit=str(limit), **({"nextToken": token} if token else {})
        )
        assert response.status == 200, response.body
        pages.append(response.json["rows"])
        token = response.json["nextToken"]
        if token is None:
            return pages


@pytest.fixture
def deals(stack: Stack) -> str:
    collection_id = stack.create_collection()
    merged(stack, collection_id, "deals.csv", stack.sample_csv)
    return collection_id


def test_rows_come_back_as_json_with_typed_values(stack: Stack, deals: str):
    first = rows(stack, deals, id="1").json["rows"][0]

    assert first["id"] == "1"
    assert first["value"] == 1000.0
    assert first["numberOfMeetings"] == 10
    assert first["creationDatetime"] == "2024-05-01T08:00:00Z"
    assert first["companyIsCustomer"] in (True, False)
    assert isinstance(first["companyTechnologies"], list)


def test_an_empty_cell_is_null(stack: Stack):
    collection_id = stack.create_collection()
    assert stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS).status == 201
    merged(stack, collection_id, "leads.csv", b"id,score,updatedAt\nl1,,2024-06-18T12:00:00Z\n", "leads")

    assert rows(stack, collection_id, "leads").json["rows"] == [
        {"id": "l1", "score": None, "updatedAt": "2024-06-18T12:00:00Z"}
    ]


def test_every_declared_type_has_its_json_form(stack: Stack):
    collection_id = stack.create_collection()
    declared = stack.call_api(
        "declare_data_type.json", collection_id=collection_id, data_type="items", body=EVERY_TYPE
    )
    assert declared.status == 201
    merged(
        stack,
        collection_id,
        "items.csv",
        b"code,label,price,active,seenAt,day\n7,a;b,1.5,true,2024-06-18T12:30:45.5,2024-06-18\n",
        "items",
    )

    assert rows(stack, collection_id, "items").json["rows"] == [
        {
            "code": 7,
            "label": "a;b",
            "price": 1.5,
            "active": True,
            "seenAt": "2024-06-18T12:30:45.500000Z",
            "day": "2024-06-18",
        }
    ]


def test_pages_follow_the_key_without_gaps_or_repeats(stack: Stack):
    collection_id = stack.create_collection()
    assert stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS).status == 201
    keys = [f"k{number:03d}" for number in range(23)]
    for chunk in (keys[10:], keys[:10]):  # two files, so two data files out of key order
        lines = b"".join(f"{key},1,2024-06-18T12:00:00Z\n".encode() for key in chunk)
        merged(stack, collection_id, "leads.csv", b"id,score,updatedAt\n" + lines, "leads")

    pages = every_page(stack, collection_id, "leads", limit=5)

    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [row["id"] for page in pages for row in page] == keys


def test_a_data_type_without_a_key_is_paged_without_gaps_or_repeats(stack: Stack):
    collection_id = stack.create_collection()
    declared = stack.call_api(
        "declare_data_type.json", collection_id=collection_id, data_type="notes", body=UNORDERED
    )
    assert declared.status == 201
    for start in (0, 7):
        lines = b"".join(f"note {number},{number}\n".encode() for number in range(start, start + 7))
        merged(stack, collection_id, "notes.csv", b"note,n\n" + lines, "notes")

    pages = every_page(stack, collection_id, "notes", limit=4)

    assert [len(page) for page in pages] == [4, 4, 4, 2]
    assert sorted(row["n"] for page in pages for row in page) == list(range(14))


def test_id_answers_that_one_row(stack: Stack, deals: str):
    response = rows(stack, deals, id="3")

    assert response.status == 200
    assert [row["id"] for row in response.json["rows"]] == ["3"]
    assert response.json["nextToken"] is None


def test_an_id_no_row_has_answers_no_rows(stack: Stack, deals: str):
    assert rows(stack, deals, id="nope").json == {"rows": [], "nextToken": None}


def test_an_id_that_is_not_of_the_keys_type_is_422_naming_id(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, data_type="items", body=EVERY_TYPE)

    response = rows(stack, collection_id, "items", id="seven")

    assert response.status == 422
    assert response.json["errors"][0]["field"] == "id"
    assert "whole number" in response.json["message"]


def test_an_id_for_a_data_type_without_a_key_is_422_naming_id(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, data_type="notes", body=UNORDERED)

    response = rows(stack, collection_id, "notes", id="1")

    assert response.status == 422
    assert response.json["errors"][0]["field"] == "id"


def test_a_data_type_with_no_rows_yet_answers_an_empty_page(stack: Stack):
    collection_id = stack.create_collection()

    assert rows(stack, collection_id).json == {"rows": [], "nextToken": None}


def test_the_default_page_holds_up_to_100_rows(stack: Stack):
    collection_id = stack.create_collection()
    assert stack.call_api("declare_data_type.json", collection_id=collection_id, body=LEADS).status == 201
    lines = b"".join(f"k{number:03d},1,2024-06-18T12:00:00Z\n".encode() for number in range(101))
    merged(stack, collection_id, "leads.csv", b"id,score,updatedAt\n" + lines, "leads")

    page = rows(stack, collection_id, "leads").json

    assert len(page["rows"]) == 100
    assert page["nextToken"] is not None


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten"])
def test_a_limit_outside_1_to_1000_is_422_naming_limit(stack: Stack, deals: str, limit: str):
    response = rows(stack, deals, limit=limit)

    assert response.status == 422
    assert [error["field"] for error in response.json["errors"]] == ["limit"]


@pytest.mark.parametrize("token", ["%%%", "e30=", "eyJhZnRlciI6IDV9"])
def test_a_next_token_no_page_gave_is_422_naming_it(stack: Stack, deals: str, token: str):
    response = rows(stack, deals, nextToken=token)

    assert response.status == 422
    assert response.json["errors"][0]["field"] == "nextToken"


def test_another_tenants_rows_are_not_found(stack: Stack, deals: str):
    response = stack.call_api("get_rows.json", collection_id=deals, tenant="someone-else")

    assert response.status == 404
    assert "rows" not in json.loads(response.body)


def test_an_unknown_data_type_is_404(stack: Stack, deals: str):
    assert rows(stack, deals, "leads").status == 404
