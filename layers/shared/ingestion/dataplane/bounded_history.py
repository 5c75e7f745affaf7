"""Keeping what each commit reads and writes bounded however long the table's history.

A CRM sync posts a few rows every minute, all day: each upload is one commit. Left to
pyiceberg's defaults, every commit would leave something that all later commits read again,
so the cost of an upload would grow with the number of uploads before it:

- **Manifests.** An OVERWRITE writes the files it removed into a manifest of DELETED entries
  (the snapshot must say what it removed), and pyiceberg then carries that manifest, holding no
  live file, into every later snapshot, where each scan and commit opens it again. Java
  Iceberg drops such manifests; :class:`BoundedOverwrite` does too.
- **Small manifests** of files added one commit at a time are merged once they pile up
  (``commit.manifest-merge.enabled``, for appends as for overwrites).
- **Snapshots.** Each one makes metadata.json larger, and pyiceberg copies the whole metadata
  many times per commit. Each commit keeps the newest :data:`KEPT_SNAPSHOTS` and expires the
  rest, except the snapshots of merges whose outcome is not recorded yet: the commit lock
  notes those (:class:`.commits.SnapshotKeeper`), since a redelivered upload finds out that it was
  merged by finding its snapshot. Expired snapshots' files stay in the bucket for table
  maintenance to delete, so a reader that started on one finishes.
- **metadata.json** lists a capped number of previous metadata files, and older ones are
  deleted after each commit (``write.metadata.*``).

All of it is standard Iceberg: Athena, Spark, Trino and DuckDB read the tables as any other.
"""

from __future__ import annotations

from pyiceberg.manifest import ManifestContent, ManifestFile
from pyiceberg.table import TableProperties, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update.snapshot import ExpireSnapshots, _ManifestMergeManager, _OverwriteFiles
from pyiceberg.utils.properties import property_as_bool, property_as_int

# Snapshots each commit keeps, besides those of merges not yet recorded: time travel over
# the latest commits, and a metadata.json whose size does not grow with the table's history.
KEPT_SNAPSHOTS = 20


class BoundedOverwrite(_OverwriteFiles):
    """pyiceberg's OVERWRITE snapshot that neither carries dead manifests forward nor lets
    small ones pile up.

    Built on pyiceberg's own producer (its merge is what ``merge_append`` uses for appends);
    re-check on a pyiceberg upgrade, which the merge tests and the layer smoke test would show.
    """

    def _existing_manifests(self) -> list[ManifestFile]:
        # A manifest with neither added nor existing files lists only files an earlier
        # snapshot deleted: this snapshot has no use for it.
        return [
            manifest
            for manifest in super()._existing_manifests()
            if manifest.has_added_files() or manifest.has_existing_files()
        ]

    def _process_manifests(self, manifests: list[ManifestFile]) -> list[ManifestFile]:
        properties = self._transaction.table_metadata.properties
        table = TableProperties
        merger = _ManifestMergeManager(
            target_size_bytes=property_as_int(  # type: ignore[arg-type]
                properties, table.MANIFEST_TARGET_SIZE_BYTES, table.MANIFEST_TARGET_SIZE_BYTES_DEFAULT
            ),
            min_count_to_merge=property_as_int(  # type: ignore[arg-type]
                properties, table.MANIFEST_MIN_MERGE_COUNT, table.MANIFEST_MIN_MERGE_COUNT_DEFAULT
            ),
            merge_enabled=property_as_bool(
                properties, table.MANIFEST_MERGE_ENABLED, table.MANIFEST_MERGE_ENABLED_DEFAULT
            ),
            snapshot_producer=self,
        )
        data = [manifest for manifest in manifests if manifest.content == ManifestContent.DATA]
        deletes = [manifest for manifest in manifests if manifest.content == ManifestContent.DELETES]
        return merger.merge_manifests(data) + deletes


class CachedTransaction(Transaction):
    """pyiceberg's transaction, computing its table metadata once per staged change.

    pyiceberg recomputes (and deep-copies) the whole metadata on every read of
    ``table_metadata``, which a commit does dozens of times: that copying was most of a small
    upsert's time. The metadata is frozen, so one copy per change is as safe.
    """

    _metadata: TableMetadata | None = None
    _metadata_changes = -1

    @property
    def table_metadata(self) -> TableMetadata:
        if self._metadata is None or self._metadata_changes != len(self._updates):
            self._metadata = super().table_metadata
            self._metadata_changes = len(self._updates)
        return self._metadata


class ExpireSnapshotsById(ExpireSnapshots):
    """pyiceberg's expiry, given the ids at once (its ``by_ids`` copies the table's metadata
    twice per id)."""

    def of(self, snapshot_ids: set[int]) -> ExpireSnapshotsById:
        self._snapshot_ids_to_expire |= snapshot_ids
        return self


def stage_snapshot_expiry(transaction: Transaction, kept: set[int]) -> None:
    """Stage the expiry of all but the newest :data:`KEPT_SNAPSHOTS` snapshots and ``kept``.

    Only the snapshots leave the metadata: their files stay in the bucket (a reader that
    started on an older snapshot finishes), for table maintenance to delete.
    """
    snapshots = sorted(transaction.table_metadata.snapshots, key=lambda snapshot: snapshot.sequence_number)
    old = {snapshot.snapshot_id for snapshot in snapshots[:-KEPT_SNAPSHOTS]} - kept
    if old:
        with ExpireSnapshotsById(transaction).of(old):
            pass
