"""Glue's optimistic concurrency on moto: UpdateTable refuses a stale VersionId, as Glue does."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from botocore.exceptions import ClientError
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField

from local_stack.glue_concurrency import guard_glue_table_versions
from local_stack.resources import create_resources

PROJECT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
DATABASE = "orders_db"
BUCKET = "warehouse"


@pytest.fixture(autouse=True)
def _moto_as_released(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from moto's own UpdateTable, whatever an earlier test guarded."""
    from moto.glue.responses import GlueResponse

    update_table = GlueResponse.update_table
    monkeypatch.setattr(GlueResponse, "update_table", getattr(update_table, "__wrapped__", update_table))


@pytest.fixture
def glue(moto_endpoint: str) -> Any:
    client = boto3.client("glue", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_database(DatabaseInput={"Name": DATABASE})
    client.create_table(DatabaseName=DATABASE, TableInput={"Name": "orders", "Parameters": {"n": "0"}})
    return client


def update(glue: Any, n: int, version_id: str | None = None) -> None:
    table_input = {"Name": "orders", "Parameters": {"n": str(n)}}
    if version_id is None:
        glue.update_table(DatabaseName=DATABASE, TableInput=table_input)
    else:
        glue.update_table(DatabaseName=DATABASE, TableInput=table_input, VersionId=version_id)


def current(glue: Any) -> tuple[str, str]:
    table = glue.get_table(DatabaseName=DATABASE, Name="orders")["Table"]
    return table["VersionId"], table["Parameters"]["n"]


# --------------------------------------------------------------------------- UpdateTable


def test_update_from_the_current_version_is_applied_and_moves_the_version(glue: Any) -> None:
    guard_glue_table_versions()
    version, _ = current(glue)

    update(glue, 1, version_id=version)

    assert current(glue) == (str(int(version) + 1), "1")


def test_update_from_a_stale_version_is_refused_as_a_concurrent_modification(glue: Any) -> None:
    guard_glue_table_versions()
    stale, _ = current(glue)
    update(glue, 1, version_id=stale)

    with pytest.raises(ClientError) as refused:
        update(glue, 2, version_id=stale)

    error = refused.value.response
    assert error["Error"]["Code"] == "ConcurrentModificationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert current(glue) == (str(int(stale) + 1), "1")


def test_update_without_a_version_is_applied_as_before(glue: Any) -> None:
    guard_glue_table_versions()
    version, _ = current(glue)

    update(glue, 1)

    assert current(glue) == (str(int(version) + 1), "1")


def test_updates_from_one_version_at_the_same_time_let_exactly_one_through(
    glue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given moto slow to apply an update, so both requests are checked before either is applied
    from moto.glue.responses import GlueResponse

    apply = GlueResponse.update_table
    applying = threading.Barrier(2, timeout=0.3)

    def slow_update_table(self: Any) -> Any:
        # Released only if the other request gets here before this one is applied.
        with contextlib.suppress(threading.BrokenBarrierError):
            applying.wait()
        return apply(self)

    monkeypatch.setattr(GlueResponse, "update_table", slow_update_table)
    guard_glue_table_versions()
    version, _ = current(glue)

    # When two writers update from the version they both read
    outcomes = _race(lambda n: update(glue, n, version_id=version), [1, 2])

    # Then one is applied and the other refused
    [refused] = [outcome for outcome in outcomes if outcome is not None]
    assert isinstance(refused, ClientError)
    assert refused.response["Error"]["Code"] == "ConcurrentModificationException"
    assert current(glue)[0] == str(int(version) + 1)


def test_create_resources_guards_the_glue_tables_of_the_stack(moto_endpoint: str) -> None:
    names = create_resources(PROJECT_TEMPLATE, moto_endpoint)
    glue = boto3.client("glue", endpoint_url=moto_endpoint, region_name="us-east-1")
    database = names["CatalogDatabase"]
    glue.create_table(DatabaseName=database, TableInput={"Name": "t"})
    glue.update_table(DatabaseName=database, TableInput={"Name": "t"}, VersionId="1")

    with pytest.raises(ClientError) as refused:
        glue.update_table(DatabaseName=database, TableInput={"Name": "t"}, VersionId="1")

    assert refused.value.response["Error"]["Code"] == "ConcurrentModificationException"


# --------------------------------------------------------------------------- pyiceberg


@pytest.fixture
def catalog(moto_endpoint: str) -> GlueCatalog:
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    credentials = {"access-key-id": "testing", "secret-access-key": "testing", "region": "us-east-1"}
    catalog = GlueCatalog(
        "local",
        **{f"glue.{name}": value for name, value in credentials.items()},
        **{f"s3.{name}": value for name, value in credentials.items()},
        **{"glue.endpoint": moto_endpoint, "s3.endpoint": moto_endpoint},
    )
    catalog.create_namespace(DATABASE)
    return catalog


@pytest.fixture
def racing_writers(catalog: GlueCatalog, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], Any]:
    """Two writers of one new table, whose first commits both read Glue before either updates it."""

    def writers(properties: dict[str, str]) -> list[Any]:
        schema = Schema(NestedField(1, "id", LongType(), required=False))
        catalog.create_table(
            (DATABASE, "events"), schema, location=f"s3://{BUCKET}/events", properties=properties
        )
        update_glue_table = catalog._update_glue_table
        first_commits = threading.Barrier(2, timeout=30)
        committed_once: set[int] = set()

        def update_once_both_have_read(**arguments: Any) -> None:
            if threading.get_ident() not in committed_once:
                committed_once.add(threading.get_ident())
                first_commits.wait()
            update_glue_table(**arguments)

        monkeypatch.setattr(catalog, "_update_glue_table", update_once_both_have_read)
        return [catalog.load_table((DATABASE, "events")) for _ in range(2)]

    return writers


def append_racing(writers: list[Any]) -> list[BaseException | None]:
    return _race(lambda i: writers[i].append(pa.table({"id": pa.array([i], pa.int64())})), [0, 1])


def rows(catalog: GlueCatalog) -> list[int]:
    return sorted(catalog.load_table((DATABASE, "events")).scan().to_arrow().column("id").to_pylist())


def test_racing_iceberg_appends_fail_the_second_commit_instead_of_losing_the_first(
    catalog: GlueCatalog, racing_writers: Callable[[dict[str, str]], Any]
) -> None:
    # Given the stack's Glue, and two writers at the same version that do not retry a failed commit
    guard_glue_table_versions()
    writers = racing_writers({"commit.retry.num-retries": "0"})

    # When both append at once
    outcomes = append_racing(writers)

    # Then one commit fails, and the table holds exactly the other's rows
    [failure] = [outcome for outcome in outcomes if outcome is not None]
    assert isinstance(failure, CommitFailedException)
    assert rows(catalog) == [outcomes.index(None)]


def test_racing_iceberg_appends_both_land_when_pyiceberg_retries(
    catalog: GlueCatalog, racing_writers: Callable[[dict[str, str]], Any]
) -> None:
    # Given the stack's Glue, and two writers at the same version with pyiceberg's default retries
    guard_glue_table_versions()
    writers = racing_writers({})

    # When both append at once
    outcomes = append_racing(writers)

    # Then the refused commit is retried on the new version: no append is lost
    assert outcomes == [None, None]
    assert rows(catalog) == [0, 1]


def _race(write: Callable[[int], object], arguments: list[int]) -> list[BaseException | None]:
    """Run ``write`` for each argument in threads started together; each one's exception or None."""
    outcomes: list[BaseException | None] = [None] * len(arguments)
    start = threading.Barrier(len(arguments))

    def run(index: int) -> None:
        start.wait()
        try:
            write(arguments[index])
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(arguments))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
