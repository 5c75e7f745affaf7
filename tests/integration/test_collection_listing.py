"""GET /api/collection: the caller's collections, newest first, a page at a time."""

from __future__ import annotations

import pytest

from tests.integration.harness import Stack


def list_all(stack: Stack, limit: int, tenant: str = "dev") -> list[list[str]]:
    """Every page of the listing, as the ids on each."""
    pages, token = [], None
    while True:
        query = {"limit": str(limit)} | ({"nextToken": token} if token else {})
        response = stack.call_api("list_collections.json", query=query, tenant=tenant)
        assert response.status == 200, response.body
        pages.append([item["id"] for item in response.json["items"]])
        token = response.json["nextToken"]
        if token is None:
            return pages


def test_collections_are_listed_newest_first_in_pages_without_gaps_or_repeats(stack: Stack):
    created = [stack.create_collection(name=f"c{number}") for number in range(5)]

    pages = list_all(stack, limit=2)

    assert pages == [created[4:2:-1], created[2:0:-1], created[:1]]


def test_a_listed_collection_has_the_shape_of_get_collection(stack: Stack):
    collection_id = stack.create_collection(name="CRM deals")

    listed = stack.call_api("list_collections.json").json["items"]
    fetched = stack.call_api("get_collection.json", collection_id=collection_id).json

    assert listed == [fetched]


def test_the_last_page_has_no_next_token_when_it_ends_exactly_on_the_limit(stack: Stack):
    for number in range(2):
        stack.create_collection(name=f"c{number}")

    response = stack.call_api("list_collections.json", query={"limit": "2"})

    assert len(response.json["items"]) == 2
    assert response.json["nextToken"] is None


def test_only_the_callers_tenant_collections_are_listed(stack: Stack):
    mine = stack.create_collection()
    theirs = stack.create_collection(tenant="someone-else")

    assert list_all(stack, limit=10) == [[mine]]
    assert list_all(stack, limit=10, tenant="someone-else") == [[theirs]]


def test_a_deleted_collection_is_not_listed_even_before_it_is_purged(stack: Stack):
    kept, deleted = stack.create_collection(), stack.create_collection()
    assert stack.call_api("delete_collection.json", collection_id=deleted).status == 204

    assert list_all(stack, limit=1) == [[kept]]


def test_a_tenant_without_collections_gets_an_empty_page(stack: Stack):
    response = stack.call_api("list_collections.json", tenant="newcomer")

    assert response.status == 200
    assert response.json == {"items": [], "nextToken": None}


@pytest.mark.parametrize("limit", ["0", "101", "many"])
def test_a_limit_outside_1_to_100_is_422_naming_limit(stack: Stack, limit: str):
    response = stack.call_api("list_collections.json", query={"limit": limit})

    assert response.status == 422
    assert [error["field"] for error in response.json["errors"]] == ["limit"]


@pytest.mark.parametrize("token", ["not-base64!", "e30=", "eyJhZnRlciI6ICIuLi8ifQ=="])
def test_a_next_token_this_listing_did_not_give_is_422_naming_it(stack: Stack, token: str):
    response = stack.call_api("list_collections.json", query={"nextToken": token})

    assert response.status == 422
    assert response.json["errors"][0]["field"] == "nextToken"
