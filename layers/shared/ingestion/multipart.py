"""What a multipart/form-data body must be before any of it is stored.

Powertools' parser splits a body on its boundary and keeps whatever it finds, so a body cut
short yields a file cut short, a body framed with another boundary yields nothing (or the
framing as data), and two ``file`` parts yield one of them. These checks refuse such bodies
by the rules of RFC 2046: parts sit between ``--<boundary>`` lines, the last is followed by
``--<boundary>--``.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesHeaderParser

MULTIPART_MEDIA_TYPE = "multipart/form-data"
# Part headers longer than this are not looked into (a client sends a few hundred bytes).
_MAX_PART_HEADERS = 8192


def boundary_of(content_type: str) -> str | None:
    """The ``boundary`` parameter of a Content-Type, or None."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    return boundary if isinstance(boundary, str) and boundary else None


def framing_problem(body: bytes, content_type: str) -> str | None:
    """What is wrong with how the body is framed, said for the client; None if nothing."""
    boundary = boundary_of(content_type)
    if boundary is None:
        return "the Content-Type multipart/form-data names no boundary; send it as curl --form does"
    delimiter = b"--" + boundary.encode()
    if not (body.startswith(delimiter) or b"\r\n" + delimiter in body):
        return (
            f"the body's parts are not framed by the boundary '{boundary}' that its Content-Type names; "
            "send the body and its Content-Type as one client builds them (e.g. curl --form file=@deals.csv)"
        )
    if b"\r\n" + delimiter + b"--" not in body:
        return (
            f"the body ends without its closing boundary '--{boundary}--': it was cut short, "
            "so nothing was stored. Send the whole file again"
        )
    return None


def part_names(body: bytes, content_type: str) -> list[str]:
    """The form names of the body's parts, in order (a well-framed body is assumed)."""
    boundary = boundary_of(content_type)
    if boundary is None:
        return []
    opening = re.compile(
        rb"(?:^|\r\n)--" + re.escape(boundary.encode()) + rb"\r\n(.{0,%d}?)\r\n\r\n" % _MAX_PART_HEADERS, re.S
    )
    names = []
    for match in opening.finditer(body):
        headers = BytesHeaderParser().parsebytes(match.group(1) + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, str):
            names.append(name)
    return names


def form_parts(body: bytes, content_type: str) -> list[tuple[str | None, str | None, str | None, bytes]]:
    """The body's parts as (form name, file name, part Content-Type, content), in order.

    A well-framed body is assumed; what is outside the parts (the preamble, the epilogue, the
    boundary itself, which a client picks anew for each send) is not part of the answer.
    """
    boundary = boundary_of(content_type)
    if boundary is None:
        return []
    delimiter = b"--" + boundary.encode()
    parts = []
    for chunk in (b"\r\n" + body).split(b"\r\n" + delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            continue
        headers = BytesHeaderParser().parsebytes(head.lstrip(b" \t\r\n") + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        file_name = headers.get_param("filename", header="content-disposition")
        parts.append(
            (
                name if isinstance(name, str) else None,
                file_name if isinstance(file_name, str) else None,
                headers.get("content-type"),
                content,
            )
        )
    return parts
