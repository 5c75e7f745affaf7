"""The checks a multipart/form-data body passes before anything of it is stored."""

from __future__ import annotations

import pytest

from ingestion.multipart import boundary_of, framing_problem, part_names

CONTENT_TYPE = 'multipart/form-data; boundary="b0undary"'


def body(*parts: tuple[str, bytes], close: bool = True, boundary: str = "b0undary") -> bytes:
    framed = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
        for name, value in parts
    )
    return framed + (f"--{boundary}--\r\n".encode() if close else b"")


def test_the_boundary_may_be_quoted():
    assert boundary_of(CONTENT_TYPE) == "b0undary"
    assert boundary_of("multipart/form-data") is None


def test_a_whole_body_has_no_problem_whatever_its_preamble_and_epilogue():
    assert framing_problem(b"preamble\r\n" + body(("file", b"a,b\n")) + b"epilogue", CONTENT_TYPE) is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (body(("file", b"a,b\n1,2\n"), close=False), "closing boundary"),
        (body(("file", b"a,b\n"))[:-12], "closing boundary"),
        (body(("file", b"a,b\n"), boundary="other"), "not framed by the boundary 'b0undary'"),
        (b"", "not framed by the boundary"),
    ],
    ids=["no-closing-boundary", "cut-in-the-closing-boundary", "another-boundary", "empty"],
)
def test_a_body_cut_short_or_framed_otherwise_is_named_for_it(raw, problem):
    assert problem in framing_problem(raw, CONTENT_TYPE)


def test_a_content_type_without_boundary_is_a_problem():
    assert "names no boundary" in framing_problem(body(("file", b"x")), "multipart/form-data")


def test_part_names_are_read_from_each_parts_headers_only():
    raw = body(("separator", b";"), ("file", b'name="file"\r\n--b0undary-ish'), ("file", b"2"))

    assert part_names(raw, CONTENT_TYPE) == ["separator", "file", "file"]
