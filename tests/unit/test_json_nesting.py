"""Measuring JSON nesting before parsing: exact on a whole document, never too low in pieces."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.json_nesting import MAX_JSON_DEPTH, NestingGauge, TooDeep, check_depth

# Text that looks like JSON structure from the inside: brackets, quotes, escapes.
TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\n', max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TRICKY_TEXT, children, max_size=3),
    max_leaves=30,
)


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    return 0


def passes(document: bytes, limit: int, piece_size: int | None = None) -> bool:
    gauge = NestingGauge(limit)
    size = piece_size or max(len(document), 1)
    try:
        for start in range(0, len(document), size):
            gauge.feed(document[start : start + size])
    except TooDeep:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_a_whole_document_is_measured_exactly(value):
    document = json.dumps(value).encode()

    assert passes(document, depth(value))
    assert depth(value) == 0 or not passes(document, depth(value) - 1)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.integers(min_value=1, max_value=7))
def test_a_document_fed_in_pieces_is_never_measured_shallower_than_it_is(value, piece_size):
    document = json.dumps(value, indent=1).encode()

    assert depth(value) == 0 or not passes(document, depth(value) - 1, piece_size)


def test_brackets_inside_strings_do_not_count():
    check_depth('{"name": "[[[[' + "[" * 100 + '", "note": "\\"{{{{"}')


def test_four_kilobytes_of_brackets_are_refused_naming_the_line():
    document = '{"id": 1}\n{"id": 2, "x": ' + "[" * 4000 + "]" * 4000 + "}\n"

    with pytest.raises(TooDeep) as refused:
        check_depth(document)

    assert refused.value.line == 2
    assert f"more than {MAX_JSON_DEPTH} levels deep" in str(refused.value)


def test_an_unclosed_run_of_brackets_split_over_pieces_is_refused():
    gauge = NestingGauge(limit=10)
    gauge.feed(b'{"a": [[[[[')

    with pytest.raises(TooDeep):
        gauge.feed(b"[[[[[[[[")


def test_a_backslash_ending_one_piece_escapes_the_first_byte_of_the_next():
    gauge = NestingGauge(limit=1)
    gauge.feed(b'{"a": "x\\')
    gauge.feed(b'"[[[[", "b": 1}')  # the quote is escaped: the brackets are text
