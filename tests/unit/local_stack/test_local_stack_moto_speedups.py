"""The moto server routes requests without listing its package directory on each one."""

from __future__ import annotations

import os

import pytest
from moto import backends

from local_stack.moto_speedups import cache_moto_module_list


def test_module_listing_is_taken_once_and_gives_the_same_modules(monkeypatch: pytest.MonkeyPatch):
    listing = backends.list_of_moto_modules
    if getattr(listing, "cached_by_local_stack", False):
        listing = listing.__wrapped__
    monkeypatch.setattr(backends, "list_of_moto_modules", listing)
    expected = list(listing())
    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or real_listdir(path))

    assert cache_moto_module_list()
    assert cache_moto_module_list()  # a second call keeps the first patch
    first, second = list(backends.list_of_moto_modules()), list(backends.list_of_moto_modules())

    assert first == second == expected
    assert {"s3", "dynamodb", "glue", "sqs"} <= set(first)
    assert len(listed) == 1  # while patching; never again per request
