"""How each of the API's records is shown to a person (``--json`` prints them as they come)."""

from __future__ import annotations

import shlex
from typing import Any

from ingest_client.render import Renderer, size_text

# Validation errors shown in the table of a failed upload; the errors file has all of them.
SHOWN_ERRORS = 10
# Rows wider than this many columns are shown one field a line instead of as a table.
TABLE_COLUMNS = 8


def collections(out: Renderer, page: dict[str, Any]) -> None:
    items = page.get("items") or []
    if not items:
        out.line("no collections yet: create one with  ingest collections create NAME")
    else:
        rows = [(item["id"], item["name"], item["createdAt"], _row_counts(item)) for item in items]
        out.table(("id", "name", "created", "rows"), rows)
    _next_page(out, page)


def collection(out: Renderer, item: dict[str, Any]) -> None:
    out.record(
        [
            ("id", item["id"]),
            ("name", item["name"]),
            ("created", item["createdAt"]),
            ("rows", _row_counts(item) or "none yet"),
        ]
    )


def upload_requests(out: Renderer, page: dict[str, Any]) -> None:
    items = page.get("items") or []
    if not items:
        out.line("no uploads of this data type yet")
    else:
        headers = ("id", "status", "file", "size", "sent", "inserted", "updated", "rejected")
        rows = [
            (
                item["id"],
                item["status"],
                item.get("fileName"),
                size_text(item.get("sizeBytes") or 0),
                item.get("dumpDatetime"),
                item.get("rowsInserted"),
                item.get("rowsUpdated"),
                item.get("rowsRejected"),
            )
            for item in items
        ]
        out.table(headers, rows)
    _next_page(out, page)


def upload_request(out: Renderer, record: dict[str, Any], errors_command: str, errors_url: str) -> None:
    """The request's status and counters; when it ended error, its first problems and where the rest are."""
    status = record.get("status")
    out.line(f"upload {record['id']}: {status}", style=_STATUS_STYLES.get(str(status)))
    out.record(
        [
            ("file", f"{record.get('fileName')} ({size_text(record.get('sizeBytes') or 0)})"),
            ("message", record.get("message")),
            ("processed lines", record.get("processedLines")),
            ("rows inserted", record.get("rowsInserted")),
            ("rows updated", record.get("rowsUpdated")),
            ("rows rejected", record.get("rowsRejected")),
            ("problems found", record.get("validationErrorCount")),
            ("sent", record.get("dumpDatetime")),
            ("started", record.get("startedDatetime")),
            ("finished", record.get("finishedDatetime")),
        ]
    )
    for warning in record.get("warnings") or []:
        out.line(f"warning: {warning}", style="yellow")
    problems = record.get("validationErrors") or []
    if not problems:
        return
    total = record.get("validationErrorCount") or len(problems)
    shown = problems[:SHOWN_ERRORS]
    rows = [
        (_where(problem), problem.get("column"), problem.get("value"), problem.get("message"))
        for problem in shown
    ]
    title = f"the first {len(shown)} of {total} problems" if total > len(shown) else "problems"
    out.table(("line", "column", "value", "message"), rows, title=title)
    out.line(f"all {total} problems as CSV: {errors_command}")
    out.line(f"  (or GET {errors_url} with the token)")


def errors_command(request_id: str, collection_id: str, data_type: str) -> str:
    words = ["ingest", "errors", request_id, "--collection", collection_id]
    if data_type != "deals":
        words += ["--type", data_type]
    return shlex.join([*words, "-o", f"errors-{request_id}.csv"])


def status_command(request_id: str, collection_id: str, data_type: str) -> str:
    words = ["ingest", "status", request_id, "--collection", collection_id]
    if data_type != "deals":
        words += ["--type", data_type]
    return shlex.join([*words, "--wait"])


def rows(out: Renderer, page: dict[str, Any]) -> None:
    items = page.get("rows") or []
    if not items:
        out.line("no rows")
    else:
        columns = list(dict.fromkeys(name for row in items for name in row))
        if len(columns) <= TABLE_COLUMNS:
            out.table(columns, [[_cell(row.get(name)) for name in columns] for row in items])
        else:
            for number, row in enumerate(items, 1):
                out.line(f"--- row {number} ---")
                out.record([(name, _cell(row.get(name))) for name in columns])
    _next_page(out, page)


def export(out: Renderer, record: dict[str, Any]) -> None:
    out.line(f"export {record['id']}: {record.get('status')}", style=_STATUS_STYLES.get(record["status"]))
    out.record([("format", record.get("format")), ("rows", record.get("rowCount"))])
    if record.get("message"):
        out.line(f"message: {record['message']}")


_STATUS_STYLES = {"completed": "green", "error": "bold red", "in_progress": "cyan", "queued": "cyan"}


def _row_counts(item: dict[str, Any]) -> str:
    data_types = item.get("dataTypes") or {}
    return ", ".join(f"{name}: {summary.get('rowCount', 0)}" for name, summary in sorted(data_types.items()))


def _where(problem: dict[str, Any]) -> str:
    if problem.get("line") is not None:
        return str(problem["line"])
    if problem.get("row") is not None:
        return f"row {problem['row']}"
    return ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_cell(item) for item in value)
    return str(value)


def _next_page(out: Renderer, page: dict[str, Any]) -> None:
    if page.get("nextToken"):
        out.line(f"more: add --next-token {page['nextToken']}")
