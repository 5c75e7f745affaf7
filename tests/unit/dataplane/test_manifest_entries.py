"""Manifest entries: a committed manifest decoded once per process, one being written every time,
one this process wrote not at all."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
from pyiceberg.io import FileIO, InputFile, load_file_io
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestEntry,
    ManifestFile,
    write_manifest,
)
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
from pyiceberg.schema import Schema
from pyiceberg.typedef import Record
from pyiceberg.types import LongType, NestedField

from ingestion.dataplane import manifest_entries
from ingestion.dataplane.manifest_entries import ManifestEntryCache
from ingestion.dataplane.sized_lru import SizedLru
from tests.iceberg_entries import entry_fields

SCHEMA = Schema(NestedField(1, "id", LongType(), required=True))


@pytest.fixture(autouse=True)
def empty_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_entries, "MANIFEST_ENTRIES", ManifestEntryCache(100))
    monkeypatch.setattr(manifest_entries, "WRITTEN_ENTRIES", SizedLru(100))
    manifest_entries.install()


def written_elsewhere() -> None:
    """Forget the entries this process wrote, as if another process had written the manifests."""
    manifest_entries.WRITTEN_ENTRIES.clear()


@dataclasses.dataclass
class CountingIO:
    """A FileIO that counts the files it opens for reading."""

    io: FileIO
    opened: int = 0

    def new_input(self, location: str) -> InputFile:
        self.opened += 1
        return self.io.new_input(location)


def manifest(tmp_path: Path, files: int) -> ManifestFile:
    """A manifest of ``files`` added data files, as written (no sequence number yet)."""
    io = load_file_io({}, str(tmp_path))
    output = io.new_output(str(tmp_path / f"m{files}.avro"))
    with write_manifest(2, UNPARTITIONED_PARTITION_SPEC, SCHEMA, output, 7, "deflate") as writer:
        for number in range(files):
            writer.add(
                ManifestEntry.from_args(
                    data_file=DataFile.from_args(
                        content=DataFileContent.DATA,
                        file_path=f"{tmp_path}/data/{number}.parquet",
                        file_format=FileFormat.PARQUET,
                        partition=Record(),
                        record_count=10,
                        file_size_in_bytes=100,
                    )
                )
            )
    return writer.to_manifest_file()


def committed(written: ManifestFile, sequence_number: int) -> ManifestFile:
    """``written`` as a snapshot's manifest list names it, its sequence number assigned."""
    listed = copy.deepcopy(written)
    listed.sequence_number = listed.min_sequence_number = sequence_number
    return listed


def test_a_committed_manifest_is_decoded_once_and_each_reader_gets_a_list_of_its_own(tmp_path: Path) -> None:
    listed = committed(manifest(tmp_path, 3), sequence_number=4)
    written_elsewhere()
    io = CountingIO(load_file_io({}, str(tmp_path)))

    first = listed.fetch_manifest_entry(io)  # type: ignore[arg-type]
    first.clear()
    again = listed.fetch_manifest_entry(io)  # type: ignore[arg-type]

    assert io.opened == 1
    paths = [entry.data_file.file_path for entry in again]
    assert paths == [f"{tmp_path}/data/{number}.parquet" for number in range(3)]
    assert {entry.sequence_number for entry in again} == {4}  # inherited from the manifest, as decoded


def test_the_same_file_with_other_inherited_values_or_a_manifest_being_written_is_decoded_again(
    tmp_path: Path,
) -> None:
    written = manifest(tmp_path, 2)
    written_elsewhere()
    io = CountingIO(load_file_io({}, str(tmp_path)))

    written.fetch_manifest_entry(io)  # type: ignore[arg-type]
    written.fetch_manifest_entry(io)  # type: ignore[arg-type]
    assert io.opened == 2  # no sequence number yet: its entries inherit one at commit
    entries = committed(written, sequence_number=5).fetch_manifest_entry(io)  # type: ignore[arg-type]
    committed(written, sequence_number=5).fetch_manifest_entry(io, discard_deleted=False)  # type: ignore[arg-type]
    assert io.opened == 4
    assert {entry.sequence_number for entry in entries} == {5}


@pytest.mark.parametrize("discard_deleted", [True, False])
def test_a_manifest_this_process_wrote_is_read_as_written_not_decoded(
    tmp_path: Path, discard_deleted: bool
) -> None:
    earlier = committed(manifest(tmp_path, 3), sequence_number=2).fetch_manifest_entry(
        load_file_io({}, str(tmp_path))
    )
    io = load_file_io({}, str(tmp_path))
    output = io.new_output(str(tmp_path / "rewritten.avro"))
    with write_manifest(2, UNPARTITIONED_PARTITION_SPEC, SCHEMA, output, 9, "deflate") as writer:
        writer.existing(earlier[0])
        writer.delete(earlier[1])
        writer.add(ManifestEntry.from_args(data_file=earlier[2].data_file))
    listed = committed(writer.to_manifest_file(), sequence_number=3)
    counting = CountingIO(io)

    served = listed.fetch_manifest_entry(counting, discard_deleted)  # type: ignore[arg-type]
    assert counting.opened == 0
    written_elsewhere()
    manifest_entries.MANIFEST_ENTRIES.clear()
    decoded = listed.fetch_manifest_entry(counting, discard_deleted)  # type: ignore[arg-type]

    assert counting.opened == 1
    assert entry_fields(served) == entry_fields(decoded)
    assert len(served) == (2 if discard_deleted else 3)
    assert {entry.sequence_number for entry in served} == {2, 3}  # kept, and inherited by the added file
