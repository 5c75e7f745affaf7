"""A validated upload held until it is merged, and merging it: alone, or with other small files
of its table in one commit (:mod:`.group_merge`); and the outcome each upload reports.

:func:`ingestion.dataplane.check_upload` gives the :class:`CheckedUpload`; the caller merges it
with :func:`merge_checked` under the table's commit lock, or takes its refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingestion.dataplane.commits import MergeResult, SnapshotKeeper
from ingestion.dataplane.early_append import EarlyAppend
from ingestion.dataplane.file_validation import FileValidation
from ingestion.dataplane.group_merge import GroupMember, merge_group
from ingestion.dataplane.merge import NewestRows, keep_newest_per_key, merge_into_collection
from ingestion.dataplane.merge_in_parts import merge_into_collection_in_parts
from ingestion.domain import UploadOutcome, UploadStatus
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec
from ingestion.settings import Settings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog


def merge_checked(
    uploads: Sequence[tuple[str, CheckedUpload]],
    *,
    collection_id: str,
    keeper: SnapshotKeeper | None,
    catalog: Catalog,
    settings: Settings,
) -> list[UploadOutcome]:
    """Merge accepted files of one collection's table, by request id: one alone, or several
    that :meth:`CheckedUpload.groupable` and of one data type in ONE commit, in the given order
    (:mod:`.group_merge`). The outcomes are in the same order.

    Runs under the table's commit lock (``keeper``, see :func:`ingest_upload`).
    """
    if len(uploads) == 1:
        request_id, checked = uploads[0]
        return [_merge_alone(checked, collection_id, request_id, catalog, settings, keeper)]
    data_type = uploads[0][1].merge_type
    if any(not checked.groupable or checked.merge_type != data_type for _, checked in uploads):
        raise ValueError("only small files of one data type, adding no column, are merged together")
    newest = {request_id: checked.newest() for request_id, checked in uploads}
    members = [GroupMember(request_id, rows.rows) for request_id, rows in newest.items()]
    merged = merge_group(catalog, settings, collection_id, data_type, members, keeper=keeper)
    return [
        _merged_outcome(checked, merged[request_id], newest[request_id].repeated, newest[request_id].examples)
        for request_id, checked in uploads
    ]


@dataclass
class CheckedUpload:
    """A validated file, held until it is merged or refused; ``close`` (or ``with``) lets go of
    its rows."""

    validation: FileValidation
    data_type: DataTypeSpec
    allow_field_addition: bool
    group_limit: int = 0
    # The rows being written as data files during validation, for a merge that appends them all.
    early: EarlyAppend | None = None
    _newest: NewestRows | None = None

    def __enter__(self) -> CheckedUpload:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._newest = None
        if self.early is not None:
            self.early.close()  # files no commit took are deleted
        self.validation.close()  # a large file's kept rows leave the local disk

    def refused_outcome(self, request_id: str) -> UploadOutcome | None:
        """The ``error`` outcome of a file that is not to be merged; None for one that is."""
        checked = self.validation
        if checked.accepts() and checked.rows is not None:
            return None
        logger.info(
            "upload refused",
            extra={"request_id": request_id, "errors": checked.issue_count, "rows": checked.processed_lines},
        )
        return _outcome(checked, UploadStatus.ERROR)

    @property
    def merge_type(self) -> DataTypeSpec:
        """The data type the rows are merged as: the file's columns added, the schema settled."""
        return dataclasses.replace(
            self.data_type,
            fields=self.data_type.fields + tuple(self.validation.new_fields),
            infer_schema=False,
        )

    @property
    def groupable(self) -> bool:
        """Whether this file may be merged in one commit with others: accepted, adding no
        column, with rows to merge that fit the group's memory (``GROUP_COMMIT_MAX_MIB``)."""
        rows = self.validation.rows
        return (
            self.validation.accepts()
            and rows is not None
            and not rows.spilled
            and rows.num_rows > 0
            and not self.validation.new_fields
            and self.validation.table is not None
            and self.validation.table.nbytes <= self.group_limit
        )

    def newest(self) -> NewestRows:
        """The rows, one per key (the newest), in key order."""
        if self._newest is None:
            table = self.validation.table
            assert table is not None  # noqa: S101 - only kept rows in memory get here
            if self.early is not None and self.early.in_key_order:
                # Every key above the previous one: one row per key, in key order already.
                self._newest = NewestRows(rows=table, repeated=0, examples=[])
            else:
                self._newest = keep_newest_per_key(table, self.merge_type)
        return self._newest


def _merge_alone(
    checked: CheckedUpload,
    collection_id: str,
    request_id: str,
    catalog: Catalog,
    settings: Settings,
    keeper: SnapshotKeeper | None,
) -> UploadOutcome:
    validation, rows = checked.validation, checked.validation.rows
    if rows is None:
        raise ValueError("a refused file is not merged")
    if rows.num_rows == 0:
        warnings = [*validation.warnings, "no row was merged: every row of the file was rejected"]
        return _outcome(validation, UploadStatus.COMPLETED, warnings=warnings)
    if rows.spilled:
        # A large file: its rows are on local disk, merged part by part (bounded memory).
        merged, repeats = merge_into_collection_in_parts(
            catalog,
            settings,
            collection_id,
            checked.merge_type,
            rows.batches,
            request_id,
            added_fields=validation.new_fields,
            keeper=keeper,
            part_rows=settings.merge_part_rows,
        )
        return _merged_outcome(checked, merged, repeats.count, repeats.examples)
    newest = checked.newest()
    merged = merge_into_collection(
        catalog,
        settings,
        collection_id,
        checked.merge_type,
        newest.rows,
        request_id,
        added_fields=validation.new_fields,
        keeper=keeper,
        early=checked.early if checked.early is not None and checked.early.started else None,
    )
    return _merged_outcome(checked, merged, newest.repeated, newest.examples)


def _merged_outcome(
    checked: CheckedUpload, merged: MergeResult, repeated: int, examples: list[str]
) -> UploadOutcome:
    validation, data_type = checked.validation, checked.data_type
    warnings = list(validation.warnings)
    if repeated:
        shown = ", ".join(f"'{key}'" for key in examples)
        tie_break = (
            f"latest {data_type.version_field}, then the later line"
            if data_type.version_field
            else "the later line"
        )
        warnings.append(
            f"{repeated} rows repeat a {data_type.key} found elsewhere in the file (e.g. {shown}); "
            f"only the newest row for each {data_type.key} ({tie_break}) was kept"
        )
    if merged.stale:
        warnings.append(
            f"{merged.stale} rows were not merged because the collection already holds a newer version "
            f"of them (a later {data_type.version_field})"
        )
    if validation.new_fields and not merged.replayed:
        warnings.append(_added_fields_warning(data_type, validation.new_fields, checked.allow_field_addition))
    if merged.replayed:
        warnings.append(
            f"this upload had already been merged (snapshot {merged.snapshot_id}); "
            "the counts are the ones recorded then"
        )
    return _outcome(
        validation,
        UploadStatus.COMPLETED,
        warnings=warnings,
        rows_inserted=merged.inserted,
        rows_updated=merged.updated,
        row_count=merged.row_count,
        snapshot_id=merged.snapshot_id,
        sequence_number=merged.sequence_number,
        added_fields=[spec.name for spec in validation.new_fields],
    )


def _outcome(checked: FileValidation, status: UploadStatus, **merged: object) -> UploadOutcome:
    merged.setdefault("warnings", checked.warnings)
    return UploadOutcome(
        status=status,
        message=checked.message,
        processed_lines=checked.processed_lines,
        rows_rejected=checked.failed_rows,
        validation_errors=checked.issues,
        validation_error_count=checked.issue_count,
        **merged,  # type: ignore[arg-type]
    )


def _added_fields_warning(
    data_type: DataTypeSpec, new_fields: Sequence[FieldSpec], allow_field_addition: bool
) -> str:
    """What the upload did to the data type's schema, naming ``allowFieldAddition`` only when the
    caller sent it: the first append of an inferred data type defines its columns without it."""
    added = ", ".join(f"{spec.name} ({spec.type.value})" for spec in new_fields)
    if allow_field_addition:
        return f"allowFieldAddition: the columns {added} were added to data type '{data_type.name}'"
    # Only the first append of an inferred data type adds columns unasked: it defines them.
    return f"data type '{data_type.name}' infers its schema: this file defined its fields {added}"
