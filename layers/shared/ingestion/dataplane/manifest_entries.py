"""Manifest entries decoded once per process, not once per read.

Iceberg never rewrites a manifest, and the tables' FileIO keeps their bytes (:mod:`.file_io`),
but pyiceberg decodes a manifest again on every read: it inflates the file and builds every
entry and its column statistics anew. A 5-row upsert into a table of 8 manifests decoded
them 21 times: once to plan the read of the stored rows, once more to find the files the
overwrite removes, and again to rewrite the manifests that listed them. On a warm function
the next upload decoded them all again.

pyiceberg offers no seam for it: its scan planning and its commits call
``ManifestFile.fetch_manifest_entry`` directly. :func:`install` wraps that method, once per
process, with :data:`MANIFEST_ENTRIES`. It keeps only the entries of manifests a snapshot
lists, which carry their sequence number: a manifest this process is still writing has none
yet (its entries inherit theirs when the commit assigns it), and is read as pyiceberg reads
it. The key holds everything the entries inherit from their manifest, so the same file
listed with other inherited values is decoded again.

The entries are shared between readers, not copied. pyiceberg treats them as read-only once
decoded: whatever it writes (an existing, deleted or rewritten entry) is a new entry holding
the same data file. Each reader gets a list of its own.

**Manifests this process wrote are not decoded at all.** Each commit writes new manifests
(its files, and those of the manifests it rewrote), and the next upload of the table on a
warm function read them all back: ~1 ms of decoding per entry, ~55 ms of a 5-row upsert into
1M rows. The writer's entries are noted as written (:data:`WRITTEN_ENTRIES`), and the first
read of a committed manifest builds its entries from them, inheriting from the manifest
exactly as pyiceberg's decoding does (its own ``_inherit_from_manifest``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pyiceberg.io import FileIO
from pyiceberg.manifest import (
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestWriter,
    _inherit_from_manifest,
)

from ingestion.dataplane.sized_lru import SizedLru

# Entries kept per process. An entry of the deals table (35 columns) takes about 14 KiB decoded
# (its data file's column sizes, counts and bounds), so this is at most ~55 MiB; a snapshot of
# a table of a few hundred data files lists a few hundred.
MANIFEST_ENTRIES_KEPT = 4_000

_Key = tuple[str, bool, int, int | None, int]


class ManifestEntryCache(SizedLru[_Key, tuple[ManifestEntry, ...]]):
    """Decoded entries by manifest and inherited values, least recently used dropped past
    ``max_size`` entries in all."""


MANIFEST_ENTRIES = ManifestEntryCache(MANIFEST_ENTRIES_KEPT)
# The entries of manifests this process wrote, by location, as written (their data files are
# shared with the entries decoded from them).
WRITTEN_ENTRIES: SizedLru[str, tuple[ManifestEntry, ...]] = SizedLru(MANIFEST_ENTRIES_KEPT)

_Fetch = Callable[[ManifestFile, FileIO, bool], list[ManifestEntry]]
_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Serve ``ManifestFile.fetch_manifest_entry`` from :data:`MANIFEST_ENTRIES`, and from the
    entries as written for manifests this process wrote (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        decode: _Fetch = ManifestFile.fetch_manifest_entry
        add_entry = ManifestWriter.add_entry
        to_manifest_file = ManifestWriter.to_manifest_file

        def fetch_manifest_entry(
            self: ManifestFile, io: FileIO, discard_deleted: bool = True
        ) -> list[ManifestEntry]:
            if self.sequence_number is None or self.sequence_number < 0:
                return decode(self, io, discard_deleted)  # not committed yet: nothing inherited to key on
            inherited = (self.sequence_number, self.added_snapshot_id, self.partition_spec_id)
            key = (self.manifest_path, discard_deleted, *inherited)
            entries = MANIFEST_ENTRIES.get(key)
            if entries is None:
                written = _as_written(self, discard_deleted)
                entries = tuple(written if written is not None else decode(self, io, discard_deleted))
                MANIFEST_ENTRIES.put(key, entries)
            return list(entries)

        def add_noted_entry(self: ManifestWriter, entry: ManifestEntry) -> ManifestWriter:
            add_entry(self, entry)
            # A copy: what is written is the entry as it is now.
            noted = _copy(entry)
            self.__dict__.setdefault("_noted_entries", []).append(noted)
            return self

        def noted_manifest_file(self: ManifestWriter) -> ManifestFile:
            manifest = to_manifest_file(self)  # the file is whole: its writer has closed
            WRITTEN_ENTRIES.put(manifest.manifest_path, tuple(self.__dict__.get("_noted_entries", ())))
            return manifest

        fetch_manifest_entry.__doc__ = decode.__doc__
        ManifestFile.fetch_manifest_entry = fetch_manifest_entry  # type: ignore[method-assign]
        ManifestWriter.add_entry = add_noted_entry  # type: ignore[method-assign]
        ManifestWriter.to_manifest_file = noted_manifest_file  # type: ignore[method-assign]
        _installed = True


def _as_written(manifest: ManifestFile, discard_deleted: bool) -> list[ManifestEntry] | None:
    """The entries of ``manifest`` as its reader would decode them, if this process wrote it."""
    written = WRITTEN_ENTRIES.get(manifest.manifest_path)
    if written is None:
        return None
    return [
        _inherit_from_manifest(_copy(entry), manifest)
        for entry in written
        if not discard_deleted or entry.status != ManifestEntryStatus.DELETED
    ]


def _copy(entry: ManifestEntry) -> ManifestEntry:
    return ManifestEntry.from_args(
        status=entry.status,
        snapshot_id=entry.snapshot_id,
        sequence_number=entry.sequence_number,
        file_sequence_number=entry.file_sequence_number,
        data_file=entry.data_file,
    )
