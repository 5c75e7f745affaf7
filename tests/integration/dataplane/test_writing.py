"""Rows written as data files: each file in one partition, every row once, key order kept."""

from __future__ import annotations

import io

import pyarrow.parquet as pq

from ingestion.dataplane import get_catalog, ingest_upload, table_identifier
from ingestion.schemas.deals import DEALS
from ingestion.settings import Settings

COLLECTION = "01jd3k7q9x0m5r2c8v4b6n1t3e"


def test_rows_of_many_months_in_any_order_land_one_file_per_month_in_key_order(
    settings: Settings, sample_csv: bytes
):
    header, *deals = sample_csv.rstrip(b"\n").split(b"\n")
    rows = [
        deal.replace(deal.split(b",", 1)[0], b"%03d" % (number * 7 % 40), 1)
        for number, deal in enumerate(deals * 8)
    ]  # 40 deals, months interleaved, ids out of order
    data = header + b"\n" + b"\n".join(rows) + b"\n"

    outcome = ingest_upload(
        open_source=lambda: io.BytesIO(data),
        data_type=DEALS,
        separator=",",
        collection_id=COLLECTION,
        request_id="r1",
        settings=settings,
    )

    assert outcome.rows_inserted == 40
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))
    tasks = list(table.scan().plan_files())
    assert len(tasks) == 5  # the sample's five months
    seen = []
    for task in tasks:
        with table.io.new_input(task.file.file_path).open() as source:
            stored = pq.read_table(io.BytesIO(source.read()))
        months = {stamp.strftime("%Y-%m") for stamp in stored.column("creationDatetime").to_pylist()}
        assert len(months) == 1
        ids = stored.column("id").to_pylist()
        assert ids == sorted(ids)
        seen += ids
    assert sorted(seen) == sorted(f"{n * 7 % 40:03d}" for n in range(40))
