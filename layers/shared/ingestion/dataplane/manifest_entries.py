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
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pyiceberg.io import FileIO
from pyiceberg.manifest import ManifestEntry, ManifestFile

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

_Fetch = Callable[[ManifestFile, FileIO, bool], list[ManifestEntry]]
_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Serve ``ManifestFile.fetch_manifest_entry`` from :data:`MANIFEST_ENTRIES` (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        decode: _Fetch = ManifestFile.fetch_manifest_entry

        def fetch_manifest_entry(
            self: ManifestFile, io: FileIO, discard_deleted: bool = True
        ) -> list[ManifestEntry]:
            if self.sequence_number is None or self.sequence_number < 0:
                return decode(self, io, discard_deleted)  # not committed yet: nothing inherited to key on
            inherited = (self.sequence_number, self.added_snapshot_id, self.partition_spec_id)
            key = (self.manifest_path, discard_deleted, *inherited)
            entries = MANIFEST_ENTRIES.get(key)
            if entries is None:
                entries = tuple(decode(self, io, discard_deleted))
                MANIFEST_ENTRIES.put(key, entries)
            return list(entries)

        fetch_manifest_entry.__doc__ = decode.__doc__
        ManifestFile.fetch_manifest_entry = fetch_manifest_entry  # type: ignore[method-assign]
        _installed = True
