"""A large file's rows on local disk: capped whatever the file, never left behind by a dead process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ingestion.dataplane import ingest_upload
from ingestion.dataplane.local_disk import PREFIX, SpillDirectory, remove_abandoned
from ingestion.dataplane.validation import validate_file
from ingestion.domain import UploadStatus
from ingestion.schemas.deals import DEALS
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from tests.conftest import make_settings

# Fifty optional number columns: an empty cell is one byte of CSV, eight once typed.
SPARSE = DataTypeSpec(
    name="sparse",
    fields=(
        FieldSpec(name="id", type=FieldType.STRING, required=True),
        *(FieldSpec(name=f"n{number}", type=FieldType.INTEGER) for number in range(50)),
    ),
    key="id",
)
SPARSE_ROWS = 20_000


@pytest.fixture(autouse=True)
def temporary_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tempfile.gettempdir()`` for this test: where the spilled rows go."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def sparse_file() -> bytes:
    header = ",".join(field.name for field in SPARSE.fields)
    return (header + "\n" + "".join(f"k{row}" + "," * 50 + "\n" for row in range(SPARSE_ROWS))).encode()


def validate_sparse(data: bytes, max_spilled_bytes: int):
    return validate_file(
        lambda: io.BytesIO(data),
        SPARSE,
        ",",
        max_errors=10,
        max_bytes=len(data),  # within the size limit
        block_size=64 << 10,
        spill_after_bytes=0,
        max_spilled_bytes=max_spilled_bytes,
    )


def test_rows_taking_more_local_disk_than_the_cap_refuse_the_file_before_the_end_leaving_nothing(
    temporary_directory: Path,
):
    data = sparse_file()  # ~1.1 MB

    result = validate_sparse(data, max_spilled_bytes=2 << 20)

    assert not result.accepts()
    assert "once read, the file's rows take more than 2 MiB, the most one upload may hold" in result.message
    assert "nothing was merged. Split it into smaller files" in result.message
    assert 0 < result.processed_lines < SPARSE_ROWS  # reading stopped once the cap was passed
    assert list(temporary_directory.iterdir()) == []


def test_the_same_rows_under_the_cap_are_kept_taking_several_times_the_file(temporary_directory: Path):
    data = sparse_file()

    result = validate_sparse(data, max_spilled_bytes=20 << 20)

    try:
        assert result.accepts()
        assert result.rows is not None
        assert result.rows.spilled
        assert result.rows.num_rows == SPARSE_ROWS
        spilled = sum(path.stat().st_size for path in temporary_directory.rglob("*.arrow"))
        assert spilled > 4 * len(data)  # why the size limit alone cannot bound the disk
    finally:
        result.close()
    assert list(temporary_directory.iterdir()) == []


def test_the_validator_takes_the_cap_from_its_settings(rows, write_csv, temporary_directory: Path):
    data = write_csv(rows * 2_000)  # ~4 MB of deals: more than 1 MiB once typed
    settings = make_settings(KEPT_ROWS_IN_MEMORY_MIB=0, KEPT_ROWS_ON_DISK_MIB=1)

    outcome = ingest_upload(
        open_source=lambda: io.BytesIO(data),
        data_type=DEALS,
        separator=",",
        collection_id="c1",
        request_id="r1",
        catalog=None,
        settings=settings,
    )

    assert outcome.status is UploadStatus.ERROR
    assert "the file's rows take more than 1 MiB, the most one upload may hold" in outcome.message
    assert outcome.rows_inserted == 0
    assert list(temporary_directory.iterdir()) == []


def test_a_spill_directory_in_use_is_left_alone_and_deleted_when_closed(temporary_directory: Path):
    directory = SpillDirectory("kept-rows")
    (directory.path / "000000.arrow").write_bytes(b"rows")

    assert directory.path.parent == temporary_directory
    assert directory.path.name.startswith(f"{PREFIX}kept-rows-")
    assert remove_abandoned() == []
    assert (directory.path / "000000.arrow").exists()

    directory.close()

    assert list(temporary_directory.iterdir()) == []


HOLD_A_SPILL_DIRECTORY = """
import os, signal, sys, time
from pathlib import Path
from ingestion.dataplane.local_disk import SpillDirectory

directory = SpillDirectory("kept-rows", root=Path(sys.argv[1]))
(directory.path / "000000.arrow").write_bytes(b"rows" * 1000)
print(directory.path, flush=True)
if sys.argv[2] == "killed":
    os.kill(os.getpid(), signal.SIGKILL)  # as a timeout or running out of memory ends it
time.sleep(120)
"""


def hold(root: Path, how: str) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", HOLD_A_SPILL_DIRECTORY, str(root), how],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_the_next_spill_deletes_what_a_killed_process_left_but_not_what_a_live_one_holds(
    temporary_directory: Path,
):
    live, held = hold(temporary_directory, "live")
    killed, left = hold(temporary_directory, "killed")
    killed.wait(timeout=30)
    foreign = temporary_directory / f"{PREFIX}someone-else"  # no lock file: not one of ours
    foreign.mkdir()
    try:
        assert killed.returncode < 0  # killed, so nothing was deleted
        assert (left / "000000.arrow").exists()

        with SpillDirectory("merge-parts") as mine:
            assert not left.exists()
            assert (held / "000000.arrow").exists()
            assert foreign.exists()
            assert mine.exists()
    finally:
        live.kill()
        live.wait(timeout=30)

    assert remove_abandoned() == [held]  # its process is gone now
    assert list(temporary_directory.iterdir()) == [foreign]
