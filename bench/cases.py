"""One measured case, run in a fresh Python process: ``python -m bench.cases <case> ...``.

The parent (:mod:`bench.__main__`) starts one process per measurement so that each peak
RSS is that case's alone. Everything a case needs is imported and connected before the
clock starts (as in a warm Lambda); the clock covers only the work itself. The result is
written as JSON to ``--result``: wall and CPU seconds, peak RSS and the RSS just before the
timed work (:mod:`bench.measuring`).

Cases:

- ``ingest``: the validator's processing, ``ingest_upload`` reading the S3 object through
  ``get_object()["Body"]``: read, validate, merge, commit.
- ``build``: ingest local chunk files one after the other (the collection the big cases
  need; timed per chunk, for information only).
- ``arrow-parse``: ``pyarrow.csv.read_csv`` of the local file: the parsing limit.
- ``naive``: the S3 object through ``csv.DictReader`` and one ``Deal.model_validate`` per
  row, no merge, nothing kept.
- ``s3-read``: the S3 object's body drained, nothing parsed: what moto's S3 costs.
- ``validate``: ``validate_file`` alone on the S3 object: read, parse, every check; no merge.
- ``small-upserts``: ``--uploads`` consecutive upserts of the 5-row sample into one table,
  each a newer version of the same deals, as a CRM sync sends them: every upload's time,
  and what the table's history holds at the end.
- ``maintenance``: ``--uploads`` small appends, then reads and merges before and after the
  table's maintenance (:mod:`bench.table_maintenance`).
- ``spread-upserts``: ``--uploads`` upserts of 5 stored deals each, picked at random from the
  chunks the large collection was built from (``--files``), so that they sit in 5 different
  data files: every upload's time, as a warm function sees it.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from bench.measuring import (
    cpu_seconds,
    engine_settings,
    fixed_work_seconds,
    import_data_plane,
    measure,
    outcome_figures,
    s3_client,
    server_cpu_seconds,
)
from bench.table_maintenance import maintenance

CHUNK = 1 << 20


def timed_upload(
    settings: Any, collection: str, request_id: str, open_source: Callable[[], BinaryIO]
) -> tuple[float, dict[str, Any]]:
    """One ``deals`` file through the validator's processing (``ingest_upload``): its seconds, and
    its outcome's figures (raising unless it completed)."""
    from ingestion.dataplane import ingest_upload
    from ingestion.schemas.deals import DEALS

    start = time.perf_counter()
    outcome = ingest_upload(
        open_source=open_source,
        data_type=DEALS,
        separator=",",
        collection_id=collection,
        request_id=request_id,
        settings=settings,
    )
    return time.perf_counter() - start, outcome_figures(outcome)


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    from ingestion.dataplane import get_catalog, ingest_upload
    from ingestion.schemas.deals import DEALS

    import_data_plane()
    settings, s3 = engine_settings(args), s3_client(args)
    get_catalog(settings)  # the Glue client exists before the clock starts, as in a warm Lambda

    def work() -> dict[str, Any]:
        outcome = ingest_upload(
            open_source=lambda: s3.get_object(Bucket=args.bucket, Key=args.key)["Body"],
            data_type=DEALS,
            separator=",",
            collection_id=args.collection,
            request_id=args.request,
            settings=settings,
        )
        return outcome_figures(outcome)

    return measure(work, args.profile)


def validate(args: argparse.Namespace) -> dict[str, Any]:
    from ingestion.dataplane.validation import validate_file
    from ingestion.schemas.deals import DEALS

    import_data_plane()
    settings, s3 = engine_settings(args), s3_client(args)
    s3.head_object(Bucket=args.bucket, Key=args.key)

    def work() -> dict[str, Any]:
        checked = validate_file(
            lambda: s3.get_object(Bucket=args.bucket, Key=args.key)["Body"],
            DEALS,
            ",",
            max_errors=settings.max_validation_errors,
            spill_after_bytes=settings.kept_rows_in_memory_mib << 20,
            max_spilled_bytes=settings.kept_rows_on_disk_mib << 20,
        )
        try:
            if not checked.accepts():
                raise RuntimeError(f"validation refused the file: {checked.message}")
            return {"rows": checked.processed_lines}
        finally:
            checked.close()

    return measure(work, args.profile)


def build(args: argparse.Namespace) -> dict[str, Any]:
    from ingestion.dataplane import get_catalog

    import_data_plane()
    settings = engine_settings(args)
    get_catalog(settings)

    def work() -> dict[str, Any]:
        chunk_seconds, figures = [], {}
        for number, path in enumerate(args.files):
            seconds, figures = timed_upload(
                settings,
                args.collection,
                f"{args.request}-{number}",
                lambda path=path: Path(path).open("rb"),  # noqa: SIM115 - the engine closes it
            )
            chunk_seconds.append(seconds)
        return {"chunk_seconds": chunk_seconds, "row_count": figures.get("row_count", 0)}

    return measure(work, args.profile)


def arrow_parse(args: argparse.Namespace) -> dict[str, Any]:
    import pyarrow.csv as pacsv

    # The file's descriptions may hold line breaks: without this option the file is misread.
    options = pacsv.ParseOptions(newlines_in_values=True)

    def work() -> dict[str, Any]:
        table = pacsv.read_csv(args.file, parse_options=options)
        return {"rows": table.num_rows}

    return measure(work, args.profile)


def naive(args: argparse.Namespace) -> dict[str, Any]:
    import csv
    import io

    from ingestion.schemas.deals import Deal

    s3 = s3_client(args)
    s3.head_object(Bucket=args.bucket, Key=args.key)  # the connection is open before the clock starts

    def work() -> dict[str, Any]:
        body = s3.get_object(Bucket=args.bucket, Key=args.key)["Body"]
        rows = 0
        with io.TextIOWrapper(body, encoding="utf-8-sig", newline="") as text:
            for row in csv.DictReader(text):
                Deal.model_validate(row)
                rows += 1
        return {"rows": rows}

    return measure(work, args.profile)


def s3_read(args: argparse.Namespace) -> dict[str, Any]:
    s3 = s3_client(args)
    s3.head_object(Bucket=args.bucket, Key=args.key)

    def work() -> dict[str, Any]:
        body = s3.get_object(Bucket=args.bucket, Key=args.key)["Body"]
        size = 0
        while chunk := body.read(CHUNK):
            size += len(chunk)
        return {"bytes": size}

    return measure(work, args.profile)


def small_upserts(args: argparse.Namespace) -> dict[str, Any]:
    from ingestion.dataplane import get_catalog, table_identifier

    import_data_plane()
    settings, s3 = engine_settings(args), s3_client(args)
    get_catalog(settings)
    header, *rows = (
        (Path(__file__).resolve().parent.parent / "events" / "deals.csv").read_bytes().splitlines()
    )

    def sync(number: int) -> bytes:
        """The sample's deals as sync ``number`` sends them: last updated (and synced) later each time."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_750_000_000 + 60 * number)).encode()
        return (
            b"\n".join([header, *(row.rsplit(b",", 2)[0] + b"," + stamp + b"," + stamp for row in rows)])
            + b"\n"
        )

    def work() -> dict[str, Any]:
        # Beside each upload's time, the CPU seconds it took here and in the moto server, and the
        # time of a fixed piece of work after it (not in the upload's time): what tells a rise
        # over the run that is the code's from one that is the shared machine's.
        seconds, cpu, server_cpu, control = [], [], [], []
        for number in range(args.uploads):
            data = sync(number)
            cpu_before, server_before = cpu_seconds(), server_cpu_seconds()
            upload_seconds, _ = timed_upload(
                settings, args.collection, f"{args.request}-{number}", lambda data=data: io.BytesIO(data)
            )
            seconds.append(upload_seconds)
            cpu.append(cpu_seconds() - cpu_before)
            server_after = server_cpu_seconds()
            if server_before is not None and server_after is not None:
                server_cpu.append(server_after - server_before)
            control.append(fixed_work_seconds())
        table = get_catalog(settings).load_table(table_identifier(settings, args.collection, "deals"))
        bucket, key = table.metadata_location.removeprefix("s3://").split("/", 1)
        return {
            "upload_seconds": seconds,
            "upload_cpu_seconds": cpu,
            "server_cpu_seconds": server_cpu,
            "control_seconds": control,
            "row_count": int(table.current_snapshot().summary["total-records"]),
            "metadata_bytes": s3.head_object(Bucket=bucket, Key=key)["ContentLength"],
            "manifests": len(table.current_snapshot().manifests(table.io)),
            "snapshots": len(table.metadata.snapshots),
        }

    return measure(work, args.profile)


# Deals drawn from each chunk file for case 7's upserts to pick from.
SPREAD_POOL = 50


def spread_upserts(args: argparse.Namespace) -> dict[str, Any]:
    import random

    import pyarrow as pa
    import pyarrow.csv as pacsv

    from ingestion.dataplane import get_catalog
    from ingestion.schemas.deals import DEALS

    import_data_plane()
    settings = engine_settings(args)
    get_catalog(settings)
    picker = random.Random(7)
    pool = []
    for path in args.files:
        with Path(path).open(encoding="utf-8") as handle:
            names = handle.readline().strip().split(",")
        chunk = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
        pool.append(chunk.take(picker.sample(range(chunk.num_rows), min(SPREAD_POOL, chunk.num_rows))))
    stored = pa.concat_tables(pool)
    version = stored.schema.get_field_index(DEALS.version_field)

    def upsert(number: int) -> bytes:
        """Five stored deals, each updated after anything stored (a version in 2031)."""
        rows = stored.take(picker.sample(range(stored.num_rows), 5))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_925_000_000 + 60 * number))
        rows = rows.set_column(version, DEALS.version_field, pa.array([stamp] * 5))
        buffer = io.BytesIO()
        pacsv.write_csv(rows, buffer, write_options=pacsv.WriteOptions(quoting_style="needed"))
        return buffer.getvalue()

    def work() -> dict[str, Any]:
        seconds, updated, inserted = [], [], []
        figures: dict[str, Any] = {}
        for number in range(args.uploads):
            data = upsert(number)
            upload_seconds, figures = timed_upload(
                settings, args.collection, f"{args.request}-{number}", lambda data=data: io.BytesIO(data)
            )
            seconds.append(upload_seconds)
            updated.append(figures["updated"])
            inserted.append(figures["inserted"])
        return {
            "upload_seconds": seconds,
            "updated_per_upload": updated,
            "inserted_per_upload": inserted,
            "row_count": figures.get("row_count", 0),
        }

    return measure(work, args.profile)


CASES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "ingest": ingest,
    "validate": validate,
    "build": build,
    "arrow-parse": arrow_parse,
    "naive": naive,
    "s3-read": s3_read,
    "small-upserts": small_upserts,
    "maintenance": maintenance,
    "spread-upserts": spread_upserts,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cases", description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--result", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument("--endpoint", help="the moto server's URL (S3 and Glue)")
    parser.add_argument("--bucket")
    parser.add_argument("--database", help="Glue database of the collections' tables")
    parser.add_argument("--key", help="S3 key of the file")
    parser.add_argument("--file", help="local path of the file (arrow-parse)")
    parser.add_argument("--files", nargs="*", default=[], help="local chunk files (build, spread-upserts)")
    parser.add_argument("--collection", help="collection id")
    parser.add_argument("--request", help="upload request id")
    parser.add_argument(
        "--uploads",
        type=int,
        default=1000,
        help="consecutive upserts (small-upserts, spread-upserts), appends (maintenance)",
    )
    parser.add_argument("--profile", type=Path, help="also write a cProfile of the timed work here")
    args = parser.parse_args()
    result = CASES[args.case](args)
    args.result.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
