"""Smoke test of a built function package: its code and layers, as Lambda will load them.

Why: ``layers/dataplane/Makefile`` deletes parts of pyarrow, pyiceberg and zstandard so that the
validator fits Lambda's 250 MB limit, and the layer locks leave out what the Lambda runtime or the
shared layer already provides. Neither is safe because it looks safe: a missing shared library or
module shows up only when something imports or calls it. This script runs the code paths the
validator depends on (CSV in, pyarrow compute, Parquet, S3 file system, Iceberg partition
transforms, an Iceberg table written, merged and read back) plus Powertools and pydantic, against
the built directories only.

It starts a fresh Python 3.12 with ``-S -P -B``: no site-packages of the machine, no current
directory on the path, no bytecode written into the build. Its path is what Lambda's would be: the
function's code, then the layers, then a stand-in for the Lambda runtime's boto3 (installed into a
temporary directory from the pins in requirements/dev.txt) and SQLAlchemy, needed only by the
local Iceberg catalog of this test. Nothing reaches the network once those are installed.

    python scripts/smoke_test_layers.py .aws-sam/build [--function ValidatorFunction]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
INSIDE_FLAG = "--inside-package"

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
"""What the Lambda Python runtime ships and the layers therefore leave out."""

HARNESS_ONLY = ("sqlalchemy==2.0.58",)
"""Test-only: pyiceberg's SqlCatalog (over SQLite) stands in for Glue so a table can round-trip."""


# -- Outside: set up the package's path and run the checks in a fresh interpreter -----------------


def runtime_pins(lock: Path, names: Sequence[str] = RUNTIME_PROVIDED) -> list[str]:
    """``name==version`` for each package the Lambda runtime provides, as the dev lock pins it."""
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", lock.read_text(encoding="utf-8"), re.MULTILINE))
    normalised = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins.items()}
    missing = [name for name in names if name not in normalised]
    if missing:
        raise SystemExit(f"error: {lock} does not pin {', '.join(missing)}; cannot imitate Lambda's runtime")
    return [f"{name}=={normalised[name]}" for name in names]


def layer_collisions(layer_dirs: Sequence[Path]) -> list[str]:
    """Top-level names that two layers both ship: Lambda unpacks all layers into one /opt, so one
    copy would silently replace the other (and a duplicated package is wasted space)."""
    owners: dict[str, Path] = {}
    collisions = []
    for layer_dir in layer_dirs:
        for entry in sorted((layer_dir / "python").iterdir()) if (layer_dir / "python").is_dir() else []:
            if entry.name == "__pycache__":
                continue
            if entry.name in owners:
                collisions.append(f"{entry.name} is in both {owners[entry.name].name} and {layer_dir.name}")
            owners[entry.name] = layer_dir
    return collisions


def find_python312(preferred: str | None) -> str:
    """The interpreter to test with: Lambda's python3.12, never whatever `python` happens to be."""
    candidates = [preferred] if preferred else [sys.executable, shutil.which("python3.12")]
    is_312 = "import sys; sys.exit(sys.version_info[:2] != (3, 12))"
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", is_312], check=False).returncode == 0:  # noqa: S603 - no shell
            return candidate
    raise SystemExit("error: no Python 3.12 found (the Lambda runtime's); pass --python /path/to/python3.12")


def install_runtime_stand_in(python: str, target: Path, requirements: Sequence[str]) -> None:
    """boto3 and friends as the Lambda runtime has them, plus the test-only catalog database."""
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "--no-compile", "--target", str(target), *requirements],
        check=True,
    )  # fmt: skip


def template_variables(template: Mapping[str, Any], function: str) -> dict[str, str]:
    """The function's environment variables from the template; references become placeholders."""
    variables = {
        **((template.get("Globals") or {}).get("Function", {}).get("Environment", {}).get("Variables", {})),
        **(template["Resources"][function].get("Properties", {}).get("Environment", {}).get("Variables", {})),
    }
    return {
        name: str(value) if isinstance(value, str | int | float) else f"smoke-test-{name.lower()}"
        for name, value in variables.items()
    }


def function_environment(
    function_dir: Path, layer_dirs: Sequence[Path], runtime: Path, variables: Mapping[str, str]
) -> dict[str, str]:
    """A clean environment: Lambda's path order, the function's variables, fake credentials,
    tracing off, no instance-metadata lookups."""
    path = [function_dir, *(layer_dir / "python" for layer_dir in layer_dirs), runtime]
    return {
        **variables,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(str(entry) for entry in path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "smoke-test",
        "POWERTOOLS_METRICS_NAMESPACE": "SmokeTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def run_outside(arguments: argparse.Namespace) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from check_package_size import BuildError, function_packages, load_template  # the sibling script

    try:
        # Absolute paths: the interpreter under test runs in a scratch directory.
        packages = {package.function: package for package in function_packages(arguments.build_dir.resolve())}
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    package = packages.get(arguments.function)
    if package is None or package.code.path is None:
        print(f"error: {arguments.build_dir} has no zip-packaged {arguments.function}", file=sys.stderr)
        return 2
    layer_dirs = [layer.path for layer in package.layers if layer.path is not None]
    collisions = layer_collisions(layer_dirs)
    for collision in collisions:
        print(f"error: {collision}", file=sys.stderr)
    template = load_template(arguments.build_dir / "template.yaml")
    properties = template["Resources"][arguments.function]["Properties"]
    handler = str(properties.get("Handler", "app.lambda_handler"))
    variables = template_variables(template, arguments.function)
    python = find_python312(arguments.python)
    requirements = [*runtime_pins(arguments.lock), *HARNESS_ONLY]
    print(f"{arguments.function}: code {package.code.path}, layers {', '.join(p.name for p in layer_dirs)}")
    print(f"Lambda runtime stand-in: {' '.join(requirements)}")
    with tempfile.TemporaryDirectory(prefix="smoke-test-layers-") as scratch:
        runtime = Path(scratch, "runtime")
        install_runtime_stand_in(python, runtime, requirements)
        environment = function_environment(package.code.path, layer_dirs, runtime, variables)
        result = subprocess.run(  # noqa: S603 - our own script, no shell
            [python, "-S", "-P", "-B", str(Path(__file__).resolve()), INSIDE_FLAG, "--handler", handler],
            env=environment, cwd=scratch, check=False, timeout=600,
        )  # fmt: skip
    if result.returncode or collisions:
        print(f"FAILED: {arguments.function}'s package is broken; see above.", file=sys.stderr)
        return 1
    print(f"passed: {arguments.function}'s code and layers load and work as Lambda will run them.")
    return 0


# -- Inside: the checks, run with nothing on the path but the package and the runtime stand-in ----
# Each check imports what it needs, so that one broken library fails one check, not all of them.


class CheckFailed(Exception):
    """A library loaded but gave a wrong answer."""


def expect(actual: object, expected: object, what: str) -> None:
    """``assert`` without being stripped by ``python -O``, saying what was compared."""
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def check_arrow_reads_gzipped_csv_and_computes() -> None:
    import gzip

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.json  # JSON uploads go through it

    raw = b"id,booked_at,amount,tags\n1,2024-01-31T23:00:00Z,10.5,a;b\n2,2024-02-01T08:00:00Z,-3,\n"
    stream = pa.CompressedInputStream(pa.BufferReader(gzip.compress(raw)), "gzip")
    table = pa_csv.read_csv(
        stream,
        convert_options=pa_csv.ConvertOptions(
            column_types={"id": pa.int64(), "booked_at": pa.timestamp("us", tz="UTC"), "amount": pa.float64()}
        ),
    )
    expect(table.num_rows, 2, "rows read")
    expect(pc.sum(table["amount"]).as_py(), 7.5, "sum of amounts")
    expect(pc.split_pattern(table["tags"], ";")[0].as_py(), ["a", "b"], "split tags")
    expect(pc.filter(table, pc.greater(table["amount"], 0))["id"].to_pylist(), [1], "filtered ids")


def check_parquet_round_trip_with_zstd(scratch: Path) -> None:
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", None]})
    pq.write_table(table, scratch / "round_trip.parquet", compression="zstd")
    expect(pq.read_table(scratch / "round_trip.parquet").to_pylist(), table.to_pylist(), "Parquet read back")
    filtered = ds.dataset(scratch / "round_trip.parquet").to_table(filter=ds.field("id") > 1)
    expect(filtered.num_rows, 2, "dataset rows with id > 1")


def check_s3_filesystem_starts() -> None:
    from pyarrow.fs import S3FileSystem

    filesystem = S3FileSystem(region="us-east-1", access_key="testing", secret_key="testing")  # noqa: S106
    expect(filesystem.region, "us-east-1", "S3 region")


def check_iceberg_transforms_run_in_pyiceberg_core() -> None:
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyiceberg_core  # noqa: F401 - the Rust extension the transforms below call
    from pyiceberg.transforms import BucketTransform, MonthTransform
    from pyiceberg.types import LongType, TimestamptzType

    instants = pa.array(
        [datetime(1970, 1, 1, tzinfo=UTC), datetime(2024, 2, 29, 23, 59, tzinfo=UTC), None],
        pa.timestamp("us", tz="UTC"),
    )
    months = MonthTransform().pyarrow_transform(TimestamptzType())(instants)
    expect(months.to_pylist(), [0, (2024 - 1970) * 12 + 1, None], "months since 1970")
    # The Iceberg spec's example: hash(34L) = 2017239379, and 2017239379 % 16 = 3.
    buckets = BucketTransform(16).pyarrow_transform(LongType())(pa.array([34], pa.int64()))
    expect(buckets.to_pylist(), [3], "bucket of 34 among 16")


def check_iceberg_table_round_trip(scratch: Path) -> None:
    from datetime import UTC, datetime

    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import MonthTransform
    from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestamptzType

    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "booked_at", TimestamptzType(), required=False),
        NestedField(3, "amount", DoubleType(), required=False),
        NestedField(4, "name", StringType(), required=False),
        identifier_field_ids=[1],
    )
    catalog = SqlCatalog(
        "smoke", uri=f"sqlite:///{scratch / 'catalog.db'}", warehouse=(scratch / "warehouse").as_uri()
    )
    catalog.create_namespace("smoke")
    table = catalog.create_table(
        "smoke.deals",
        schema=schema,
        partition_spec=PartitionSpec(PartitionField(2, 1000, MonthTransform(), "booked_at_month")),
        # Manifests compressed by the zstandard package, whose CFFI backend the layer leaves out.
        properties={"write.avro.compression-codec": "zstandard"},
    )
    arrow_schema = schema.as_arrow()

    def rows(ids: list[int], months: list[int], amounts: list[float]) -> pa.Table:
        booked = [datetime(2024, month, 15, tzinfo=UTC) for month in months]
        names = [f"deal {identifier}" for identifier in ids]
        return pa.Table.from_pydict(
            {"id": ids, "booked_at": booked, "amount": amounts, "name": names}, schema=arrow_schema
        )

    table.append(rows([1, 2, 3], [1, 1, 2], [1.0, 2.0, 3.0]))
    result = table.upsert(rows([3, 4], [2, 3], [30.0, 4.0]))
    expect((result.rows_updated, result.rows_inserted), (1, 1), "rows updated and inserted by the upsert")
    merged = catalog.load_table("smoke.deals").scan().to_arrow().sort_by("id")
    expect(merged["amount"].to_pylist(), [1.0, 2.0, 30.0, 4.0], "amounts after the upsert")
    filtered = table.refresh().scan(row_filter="amount >= 2.0 and booked_at >= '2024-02-01T00:00:00+00:00'")
    expect(sorted(filtered.to_arrow()["id"].to_pylist()), [3, 4], "ids matching the row filter")
    partitions = {
        part
        for task in table.scan().plan_files()
        for part in task.file.file_path.split("/")
        if part.startswith("booked_at_month=")
    }
    expected_partitions = {"booked_at_month=2024-01", "booked_at_month=2024-02", "booked_at_month=2024-03"}
    expect(partitions, expected_partitions, "month partitions of the data files")


def check_native_helpers_of_pyiceberg() -> None:
    import struct

    import mmh3
    import zstandard
    from pyroaring import BitMap

    expect(zstandard.backend, "cext", "zstandard backend")
    expect(zstandard.decompress(zstandard.compress(b"x" * 100)), b"x" * 100, "zstandard round trip")
    expect(list(BitMap([3, 1, 2]) & BitMap([2, 3, 4])), [2, 3], "bitmap intersection")
    expect(mmh3.hash(struct.pack("<q", 34)), 2017239379, "murmur3 of 34L (the Iceberg spec's example)")


def check_glue_catalog_builds_its_client() -> None:
    from pyiceberg.catalog.glue import GlueCatalog
    from pyiceberg.io import load_file_io
    from pyiceberg.io.pyarrow import PyArrowFileIO

    catalog = GlueCatalog("smoke", **{"client.region": "us-east-1"})
    expect(catalog.glue.meta.region_name, "us-east-1", "Glue client region")
    # Tables on S3 are read and written through pyarrow's S3 file system, not fsspec.
    expect(type(load_file_io({}, "s3://bucket/warehouse")), PyArrowFileIO, "FileIO for s3://")


def check_powertools_and_pydantic() -> None:
    import json

    import aws_xray_sdk.core  # noqa: F401 - Tracer's backend, from the [tracer] extra
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from pydantic import BaseModel, Field

    class Collection(BaseModel):
        name: str = Field(min_length=1)

    # (No `from __future__ import annotations` in this file: the resolver reads the route's
    # annotations at runtime, and a string could not name this local model.)
    Logger(service="smoke-test").info("logger works")
    Tracer(service="smoke-test")
    Metrics(namespace="SmokeTest", service="smoke-test")
    app = APIGatewayRestResolver(enable_validation=True)

    @app.post("/collection")
    def create(collection: Collection) -> dict[str, str]:
        return {"name": collection.name}

    def post(body: str) -> dict[str, Any]:
        event = {
            "resource": "/collection", "path": "/collection", "httpMethod": "POST", "body": body,
            "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None, "isBase64Encoded": False,
            "requestContext": {"stage": "v1", "requestId": "smoke", "resourcePath": "/collection"},
        }  # fmt: skip
        return app.resolve(event, LambdaContext())

    expect(post(json.dumps({"name": "acme"}))["statusCode"], 200, "status of a valid body")
    expect(post(json.dumps({"name": ""}))["statusCode"], 422, "status of an invalid body")


def check_function_code_imports(handler: str) -> None:
    """Every module of the domain package, the data plane included (which the handler imports only
    when a file arrives), then the handler itself."""
    import importlib

    import ingestion

    for package_dir in map(Path, ingestion.__path__):
        for source in sorted(package_dir.rglob("*.py")):
            parts = source.relative_to(package_dir.parent).with_suffix("").parts
            importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    module, _, function = handler.rpartition(".")
    expect(callable(getattr(importlib.import_module(module), function, None)), True, f"{handler} is callable")


def run_inside(handler: str) -> int:
    with tempfile.TemporaryDirectory(prefix="smoke-") as scratch_dir:
        scratch = Path(scratch_dir)
        checks: list[tuple[str, Callable[[], None]]] = [
            ("pyarrow reads gzipped CSV and computes", check_arrow_reads_gzipped_csv_and_computes),
            ("Parquet and datasets round-trip", lambda: check_parquet_round_trip_with_zstd(scratch)),
            ("pyarrow's S3 file system starts", check_s3_filesystem_starts),
            ("Iceberg transforms run in pyiceberg-core", check_iceberg_transforms_run_in_pyiceberg_core),
            ("Iceberg table: append, upsert, scan", lambda: check_iceberg_table_round_trip(scratch)),
            ("zstandard, pyroaring, mmh3 work", check_native_helpers_of_pyiceberg),
            ("Glue catalog builds its client", check_glue_catalog_builds_its_client),
            ("Powertools and pydantic work", check_powertools_and_pydantic),
            (f"ingestion and {handler} import", lambda: check_function_code_imports(handler)),
        ]
        failures = 0
        for description, check in checks:
            try:
                check()
            except Exception:  # report every broken check, then fail
                failures += 1
                print(f"FAIL  {description}\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            else:
                print(f"ok    {description}", flush=True)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke-test a built function's code and layers.")
    parser.add_argument("build_dir", nargs="?", default=Path(".aws-sam/build"), type=Path)
    parser.add_argument(
        "--function",
        default="ValidatorFunction",
        help="logical id in template.yaml (the library checks expect the validator's layers)",
    )
    parser.add_argument("--handler", default="app.lambda_handler", help=argparse.SUPPRESS)
    parser.add_argument("--python", help="Python 3.12 to test with (default: this one, else python3.12)")
    parser.add_argument(
        "--lock", default=REPO_ROOT / "requirements" / "dev.txt", type=Path, help="pins of Lambda's boto3"
    )
    parser.add_argument(INSIDE_FLAG, action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if getattr(arguments, INSIDE_FLAG.lstrip("-").replace("-", "_")):
        return run_inside(arguments.handler)
    return run_outside(arguments)


if __name__ == "__main__":
    sys.exit(main())
