"""Manifest entries as plain values, for tests to compare entries built two ways."""

from __future__ import annotations

from pyiceberg.manifest import ManifestEntry


def entry_fields(entries: list[ManifestEntry]) -> list[tuple[object, ...]]:
    """Everything an entry holds, its data file's every field included."""
    return [
        (
            entry.status,
            entry.snapshot_id,
            entry.sequence_number,
            entry.file_sequence_number,
            entry.data_file.spec_id,
            [entry.data_file[position] for position in range(len(entry.data_file))],
        )
        for entry in entries
    ]
