"""A large file's rows go to local disk and are merged in parts: the same table as in memory.

Every upload here is made twice, into two collections: once with its rows kept in memory,
once as a large file would be (spilled after the first batch, merged in parts of a few rows).
The tables and the counts must be the same, whatever the keys, versions, repeats and updates.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.dataplane import get_catalog, ingest_upload, table_identifier
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from ingestion.settings import Settings

SCORES = DataTypeSpec(
    name="scores",
    fields=(
        FieldSpec(name="id", type=FieldType.STRING, required=True),
        FieldSpec(name="score", type=FieldType.INTEGER),
        FieldSpec(name="updatedAt", type=FieldType.DATETIME),
    ),
    key="id",
    version_field="updatedAt",
)
KEYLESS = DataTypeSpec(name="events", fields=SCORES.fields)
START = datetime(2026, 1, 1, tzinfo=UTC)

ROWS = st.lists(
    st.tuples(st.integers(0, 30), st.integers(-5, 5), st.one_of(st.none(), st.integers(0, 50))), max_size=40
)
UPLOADS = st.lists(ROWS.filter(bool), min_size=1, max_size=4)
DIFFERENTIAL = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def csv_file(rows: list[tuple[int, int, int | None]]) -> bytes:
    lines = ["id,score,updatedAt"]
    for key, score, minutes in rows:
        stamp = "" if minutes is None else (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"k{key:03},{score},{stamp}")
    return ("\n".join(lines) + "\n").encode()


def ingest_all(settings: Settings, data_type: DataTypeSpec, uploads: list[list[tuple[int, int, int | None]]]):
    collection = uuid.uuid4().hex[:16]
    outcomes = []
    for number, rows in enumerate(uploads):
        data = csv_file(rows)
        outcome = ingest_upload(
            open_source=lambda data=data: io.BytesIO(data),
            data_type=data_type,
            separator=",",
            collection_id=collection,
            request_id=f"r{number}",
            settings=settings,
        )
        assert outcome.status.value == "completed", outcome.message
        outcomes.append((outcome.rows_inserted, outcome.rows_updated, outcome.row_count))
    table = get_catalog(settings).load_table(table_identifier(settings, collection, data_type.name))
    stored = table.scan().to_arrow().to_pylist()
    return outcomes, sorted(stored, key=repr)


def in_parts(settings: Settings) -> Settings:
    """Settings with which every file is treated as large: spilled at once, merged 3 rows a part."""
    return settings.model_copy(update={"kept_rows_in_memory_mib": 0, "merge_part_rows": 3})


@DIFFERENTIAL
@given(uploads=UPLOADS)
def test_upserts_merged_in_parts_give_the_table_and_counts_of_a_merge_in_memory(settings: Settings, uploads):
    assert ingest_all(in_parts(settings), SCORES, uploads) == ingest_all(settings, SCORES, uploads)


@DIFFERENTIAL
@given(uploads=UPLOADS)
def test_appends_of_a_keyless_type_in_parts_give_the_same_table(settings: Settings, uploads):
    assert ingest_all(in_parts(settings), KEYLESS, uploads) == ingest_all(settings, KEYLESS, uploads)


def test_a_large_file_leaves_nothing_on_local_disk(settings: Settings, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)

    ingest_all(in_parts(settings), SCORES, [[(n, n, n) for n in range(20)]])

    assert list(tmp_path.iterdir()) == []
