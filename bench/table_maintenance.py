"""Case 6: a table after many small appends, before and after its maintenance.

``python -m bench.cases maintenance --uploads 100 ...`` (``make bench`` runs it and adds its
section to ``bench/results.md``). Appends ``--uploads`` files of :data:`APPEND_ROWS` new deals
each into one table, as a customer's daily exports of new deals would; then measures, before
and after :func:`ingestion.dataplane.maintenance.maintain_table` (what the scheduled
maintenance function runs on each table):

- **read**: scanning the whole table into Arrow (what an export or an engine's query pays),
  the minimum of :data:`ROUNDS`;
- **merge**: a 5-row upsert of stored deals through ``ingest_upload`` (what the validator pays
  for a small update), the minimum of :data:`ROUNDS`;
- the data files, and the maintenance's own time.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.measuring import engine_settings, import_data_plane, measure, outcome_figures, s3_client
from bench.synthetic_deals import DealHistory, csv_bytes

APPEND_ROWS = 100
ROUNDS = 3
SEED = 11


def maintenance(args: argparse.Namespace) -> dict[str, Any]:
    from ingestion.dataplane import get_catalog, ingest_upload, table_identifier
    from ingestion.dataplane.maintenance import maintain_table
    from ingestion.schemas.deals import DEALS

    import_data_plane()
    settings, s3 = engine_settings(args), s3_client(args)
    catalog = get_catalog(settings)
    total = args.uploads * APPEND_ROWS
    history = DealHistory(seed=SEED, size=total)
    picker = random.Random(SEED)  # which deals to update

    def ingest(data: bytes, request_id: str) -> float:
        start = time.perf_counter()
        outcome = ingest_upload(
            open_source=lambda: io.BytesIO(data),
            data_type=DEALS,
            separator=",",
            collection_id=args.collection,
            request_id=request_id,
            settings=settings,
        )
        seconds = time.perf_counter() - start
        outcome_figures(outcome)  # raises unless completed
        return seconds

    def table() -> Any:
        return catalog.load_table(table_identifier(settings, args.collection, "deals"))

    def data_files() -> int:
        return len(list(table().scan().plan_files()))

    def read() -> tuple[float, int]:
        best, rows = float("inf"), 0
        for _ in range(ROUNDS):
            start = time.perf_counter()
            rows = table().scan().to_arrow().num_rows
            best = min(best, time.perf_counter() - start)
        return best, rows

    def merge(first_round: int) -> float:
        seconds = []
        for number in range(first_round, first_round + ROUNDS):
            picked = sorted(picker.sample(range(total), 5))
            data = csv_bytes(history.updates(picked, number + 1))
            seconds.append(ingest(data, f"{args.request}-upsert-{number}"))
        return min(seconds)

    def work() -> dict[str, Any]:
        for number in range(args.uploads):
            rows = history.deals(number * APPEND_ROWS, (number + 1) * APPEND_ROWS)
            ingest(csv_bytes(rows), f"{args.request}-append-{number}")
        files_appended = data_files()
        read_before, rows_before = read()
        merge_before = merge(0)
        start = time.perf_counter()
        result = maintain_table(
            table(),
            keeper=None,
            retention=timedelta(seconds=settings.snapshot_retention_days * 86400),
            orphan_age=timedelta(seconds=settings.orphan_file_age_hours * 3600),
            now=datetime.now(UTC),
            s3=s3,
        )
        maintenance_seconds = time.perf_counter() - start
        read_after, rows_after = read()
        merge_after = merge(ROUNDS)
        if rows_after != rows_before or rows_before != total:
            raise RuntimeError(f"rows changed: {total} appended, {rows_before} before, {rows_after} after")
        return {
            "appends": args.uploads,
            "append_rows": APPEND_ROWS,
            "row_count": rows_after,
            "files_after_appends": files_appended,
            "files_before_maintenance": result.files_before,
            "files_after_maintenance": result.files_after,
            "maintenance_seconds": maintenance_seconds,
            "read_before": read_before,
            "read_after": read_after,
            "merge_before": merge_before,
            "merge_after": merge_after,
        }

    return measure(work, args.profile)


def section(figures: dict[str, Any]) -> list[str]:
    """The Markdown section of ``bench/results.md``."""

    def ratio(before: float, after: float) -> str:
        return f"{before / after:.2f}" if after else "-"

    return [
        "",
        f"## Case 6: {figures['appends']} small appends, before and after maintenance",
        "",
        f"{figures['appends']} appends of {figures['append_rows']} new deals each into one table, then the"
        " table's maintenance (`maintain_table`: compaction, snapshot expiry, orphan files), as the daily"
        f" maintenance function runs it. Minimum of {ROUNDS} rounds each: a full scan into Arrow, and a"
        " 5-row upsert of stored deals through `ingest_upload`.",
        "",
        "| | data files | full read s | 5-row upsert s |",
        "|---|---|---|---|",
        f"| before | {figures['files_before_maintenance']}"
        f" (after the appends: {figures['files_after_appends']})"
        f" | {figures['read_before']:.3f} | {figures['merge_before']:.3f} |",
        f"| after | {figures['files_after_maintenance']} | {figures['read_after']:.3f}"
        f" | {figures['merge_after']:.3f} |",
        f"| before / after | | {ratio(figures['read_before'], figures['read_after'])}"
        f" | {ratio(figures['merge_before'], figures['merge_after'])} |",
        "",
        f"The maintenance itself took {figures['maintenance_seconds']:.1f} s; the table holds"
        f" {figures['row_count']:,} rows before and after.",
    ]
