"""The tables' FileIO: immutable table metadata read once per process, small files in one PUT."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.dataplane import file_io
from ingestion.dataplane.file_io import IngestionFileIO, MetadataCache, is_immutable_metadata


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> MetadataCache:
    cache = MetadataCache(1 << 20)
    monkeypatch.setattr(file_io, "METADATA_CACHE", cache)
    return cache


@pytest.mark.parametrize(
    ("location", "immutable"),
    [
        ("s3://b/t/metadata/00003-6f1e.metadata.json", True),
        ("s3://b/t/metadata/00003-6f1e.gz.metadata.json", True),
        ("s3://b/t/metadata/snap-123-0-6f1e.avro", True),
        ("s3://b/t/metadata/6f1e-m0.avro", True),
        ("s3://b/t/data/creationDatetime_month=2024-05/00000-0-6f1e.parquet", False),
        ("s3://b/t/data/00000-0-6f1e.avro", False),  # an Avro data file is no metadata
        ("s3://b/t/metadata/version-hint.text", False),  # rewritten in place by some catalogs
    ],
)
def test_only_the_files_iceberg_never_rewrites_are_cached(location: str, immutable: bool) -> None:
    assert is_immutable_metadata(location) is immutable


def test_a_metadata_file_is_read_once_and_a_data_file_every_time(tmp_path: Path) -> None:
    metadata, data = tmp_path / "metadata" / "snap-1-m0.avro", tmp_path / "data" / "part.parquet"
    for path in (metadata, data):
        path.parent.mkdir()
        path.write_bytes(b"first")
    io = IngestionFileIO()

    assert io.new_input(str(metadata)).open().read() == b"first"
    assert io.new_input(str(data)).open().read() == b"first"
    for path in (metadata, data):
        path.write_bytes(b"changed")  # never happens to a metadata file: shows which were kept

    again = io.new_input(str(metadata))
    assert (again.open().read(), len(again), again.exists()) == (b"first", 5, True)
    assert io.new_input(str(data)).open().read() == b"changed"


def test_a_missing_metadata_file_is_still_missing(tmp_path: Path) -> None:
    missing = IngestionFileIO().new_input(str(tmp_path / "metadata" / "gone.metadata.json"))

    assert not missing.exists()
    with pytest.raises(FileNotFoundError):
        missing.open()


def test_s3_files_are_opened_late_so_that_a_small_one_is_one_put() -> None:
    io = IngestionFileIO({"s3.endpoint": "http://127.0.0.1:9", "s3.region": "eu-west-1"})

    filesystem = io.fs_by_scheme("s3", "bucket")

    options = filesystem.__reduce__()[1][0]  # the options it was made with, as pickling sees them
    assert options["allow_delayed_open"] is True
    assert (options["endpoint_override"], options["region"]) == ("http://127.0.0.1:9", "eu-west-1")


def test_a_metadata_file_written_here_is_never_read_back(tmp_path: Path) -> None:
    location = str(tmp_path / "metadata" / "00001-6f1e.metadata.json")
    io = IngestionFileIO()

    output = io.new_output(location)
    with output.create() as stream:
        stream.write(b'{"format-version": ')
        stream.write(b"2}")
    assert Path(location).read_bytes() == b'{"format-version": 2}'  # in storage, in one piece
    Path(location).unlink()  # what is read next can only come from what was kept

    assert len(output) == len(b'{"format-version": 2}')
    assert io.new_input(location).open().read() == b'{"format-version": 2}'


def test_a_metadata_file_whose_writing_failed_is_neither_stored_nor_kept(tmp_path: Path) -> None:
    location = str(tmp_path / "metadata" / "snap-2-m0.avro")
    io = IngestionFileIO()

    def write() -> None:
        with io.new_output(location).create() as stream:
            stream.write(b"half a manifest")
            raise RuntimeError("encoding failed")

    with pytest.raises(RuntimeError, match="encoding failed"):
        write()

    assert not Path(location).exists()
    assert not io.new_input(location).exists()


def test_an_existing_metadata_file_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    location = tmp_path / "metadata" / "00002-6f1e.metadata.json"
    location.parent.mkdir()
    location.write_bytes(b"first")
    output = IngestionFileIO().new_output(str(location))

    with pytest.raises(FileExistsError):
        output.create()
    with output.create(overwrite=True) as stream:
        stream.write(b"second")
    assert location.read_bytes() == b"second"


def test_a_data_file_is_written_straight_to_storage(tmp_path: Path) -> None:
    location = tmp_path / "data" / "part.parquet"
    location.parent.mkdir()

    with IngestionFileIO().new_output(str(location)).create() as stream:
        stream.write(b"rows")

    assert location.read_bytes() == b"rows"
    location.write_bytes(b"other rows")
    assert IngestionFileIO().new_input(str(location)).open().read() == b"other rows"
