"""What validating a file gives back: a :class:`FileValidation`, its good rows kept as :class:`KeptRows`.

A module of its own so that the driver (:mod:`.validation`), the column-name checks
(:mod:`.column_names`) and the issue report (:mod:`.issues`) all fill in, or refuse, one
result without importing each other. The kept rows are the data type's columns, typed as
their batches were checked, then the columns the upload adds, typed only when they are read
back, once their types are inferred from every kept row; where the rows are held (memory or
local disk) is :mod:`.kept_rows`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from ingestion.dataplane.column_checks import arrow_type, check_column
from ingestion.dataplane.kept_rows import KeptBatches
from ingestion.domain import FileFormat, ValidationIssue
from ingestion.schemas.spec import DataTypeSpec, FieldSpec


@dataclass
class FileValidation:
    """What validating a file found: typed rows to merge, or why the file is refused.

    ``failed_rows`` rows were bad; when the file is accepted anyway (``maxBadRecords``) they
    are left out of ``table``, still listed in ``issues``, and ``message`` says so.
    """

    data_type: DataTypeSpec
    max_bad_records: int = 0
    file_format: FileFormat | None = None
    processed_lines: int = 0
    warnings: list[str] = field(default_factory=list)
    issues: list[ValidationIssue] = field(default_factory=list)
    issue_count: int = 0
    failed_rows: int = 0
    message: str | None = None
    refused: bool = False
    # The good rows, in memory or spilled to local disk (a large file); ``close`` deletes them.
    rows: KeptRows | None = None
    # Columns the data type lacks, kept because the upload allows field addition, with
    # their inferred types; ``rows`` holds them after the data type's own columns.
    new_fields: list[FieldSpec] = field(default_factory=list)
    _table: pa.Table | None = None

    @property
    def table(self) -> pa.Table | None:
        """The good rows as one table, for a file whose rows were kept in memory."""
        if self._table is None and self.rows is not None and not self.rows.spilled:
            self._table = self.rows.to_table()
        return self._table

    def accepts(self) -> bool:
        """Whether the good rows in ``rows`` are to be merged."""
        return not self.refused and self.rows is not None

    def close(self) -> None:
        """Let go of the kept rows (and delete them from local disk)."""
        if self.rows is not None:
            self.rows.close()
        self.rows = None
        self._table = None

    def refuse(self, message: str, issues: list[ValidationIssue]) -> None:
        self.refused = True
        self.close()
        self.new_fields = []
        self.message = message
        self.issues = issues
        self.issue_count = len(issues)


class KeptRows:
    """The rows a file keeps for the merge, in memory or (a large file) spilled to local disk."""

    def __init__(self, batches: KeptBatches, new_fields: list[FieldSpec]) -> None:
        self._batches = batches
        self._new = {spec.name: spec for spec in new_fields}
        self.schema = pa.schema(list(batches.schema) + [pa.field(f.name, arrow_type(f)) for f in new_fields])

    @property
    def spilled(self) -> bool:
        return self._batches.spilled

    @property
    def num_rows(self) -> int:
        return self._batches.num_rows

    def batches(self) -> Iterator[pa.RecordBatch]:
        return self._batches.batches(
            list(self.schema)[len(self._batches.schema) :],
            lambda name, cells: check_column(self._new[name], cells).values,
        )

    def to_table(self) -> pa.Table:
        return pa.Table.from_batches(list(self.batches()), schema=self.schema)

    def close(self) -> None:
        self._batches.close()
