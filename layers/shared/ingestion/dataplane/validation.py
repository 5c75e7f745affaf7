"""Validating an uploaded file against its data type, batch by batch, whatever its format.

:mod:`.formats` decides the format and decompresses; a reader (:mod:`.csv_records`,
:mod:`.ndjson_reader`, :mod:`.json_reader`) turns the file into batches of text cells. The
success path is all Arrow: each batch is checked column by column (:mod:`.column_checks`),
then against the row rules (:mod:`.batch_checks`), and its good rows are kept as typed
columns. Python objects are only made for problems: at most ``max_errors`` pending issues
are kept (the earliest ones, in file order), the rest are only counted (:mod:`.issues`).
Places (physical line, or row of a JSON array) are filled in at the end by the reader
(:meth:`.records.RecordReader.locate`), so the fast path never tracks them.

This module drives one file through all that: it opens the reader, makes one pass over its
batches (again from the start when the reader raises :class:`.records.ReadAgain`), keeps the
good rows, and concludes with the verdict in a :class:`.file_validation.FileValidation`. The
next batches are read while one is checked (:mod:`.read_ahead`).

**Verdict.** A header problem (a required column missing, a duplicated column, a column the
schema lacks without ``allowFieldAddition``: :mod:`.column_names`) refuses the file.
Otherwise up to ``maxBadRecords`` bad rows are tolerated: they are left out and reported,
the good rows are merged. One more, and nothing is merged; rows stop being kept the moment
the count passes the limit.

**Columns the schema lacks** are ignored with a warning for built-in data types (``deals``).
For declared ones they refuse the file unless the upload allows field addition: their
values are then kept as text, their types inferred (:mod:`.type_inference`) from the rows
that are kept, and they are returned as :attr:`.file_validation.FileValidation.new_fields`.
A data type with an inferred schema and no table yet is the case where every column is new.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow.compute as pc

from ingestion.dataplane.batch_checks import BatchChecker
from ingestion.dataplane.column_names import check_header, check_keys
from ingestion.dataplane.csv_reader import BLOCK_SIZE
from ingestion.dataplane.csv_records import CsvRecords
from ingestion.dataplane.file_validation import FileValidation, KeptRows
from ingestion.dataplane.formats import SNIFF_BYTES, UploadedFile
from ingestion.dataplane.issues import IssueLog, report_problems
from ingestion.dataplane.json_reader import JsonDocumentRecords
from ingestion.dataplane.kept_rows import MAX_SPILLED_BYTES, SPILL_AFTER_BYTES, KeptBatches, KeptObserver
from ingestion.dataplane.ndjson_reader import NdjsonRecords
from ingestion.dataplane.read_ahead import read_ahead
from ingestion.dataplane.records import (
    Header,
    OpenSource,
    Place,
    RawBatch,
    ReadAgain,
    RecordReader,
    UnreadableFile,
)
from ingestion.dataplane.type_inference import ColumnTypes
from ingestion.domain import FileFormat, IngestOptions, ValidationIssue
from ingestion.schemas.spec import DataTypeSpec, FieldSpec


def validate_file(
    open_source: OpenSource,
    data_type: DataTypeSpec,
    separator: str,
    *,
    max_errors: int,
    block_size: int = BLOCK_SIZE,
    options: IngestOptions | None = None,
    max_bytes: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    spill_after_bytes: int = SPILL_AFTER_BYTES,
    max_spilled_bytes: int = MAX_SPILLED_BYTES,
    observer: KeptObserver | None = None,
) -> FileValidation:
    """Read and check a whole file; never raises for anything wrong with the file itself.

    ``max_bytes`` refuses a file larger than that once decompressed; ``on_progress`` is called
    with the records read so far after every batch. Kept rows past ``spill_after_bytes`` go to
    local disk (:mod:`.kept_rows`), and past ``max_spilled_bytes`` there refuse the file: close
    the result once its rows are merged. ``observer`` sees each batch of good rows as it is kept.
    """
    options = options or IngestOptions()
    result = FileValidation(data_type=data_type, max_bad_records=options.max_bad_records)
    try:
        with UploadedFile(open_source, options, max_bytes=max_bytes) as upload:
            result.file_format = upload.format
            reader = _open_reader(upload, data_type, separator, block_size)
            try:
                result.warnings.extend(reader.notes)
                _check_reader(
                    reader,
                    result,
                    max_errors=max_errors,
                    options=options,
                    on_progress=on_progress,
                    spill_after_bytes=spill_after_bytes,
                    max_spilled_bytes=max_spilled_bytes,
                    observer=observer,
                )
            finally:
                result.processed_lines = reader.rows_read  # also when reading stopped half-way
                reader.close()
    except UnreadableFile as error:
        place = Place(line=error.line, row=error.row)
        located = error.line is not None or error.row is not None
        result.refuse(
            str(error),
            [ValidationIssue(line=place.line, row=place.row, message=str(error))] if located else [],
        )
    return result


def _open_reader(
    upload: UploadedFile, data_type: DataTypeSpec, separator: str, block_size: int
) -> RecordReader:
    if upload.format is FileFormat.NDJSON:
        return NdjsonRecords(upload.open, data_type.fields, block_size=block_size)
    if upload.format is FileFormat.JSON:
        return JsonDocumentRecords(upload.open, data_type.fields)
    return CsvRecords(
        upload.open,
        separator,
        head=upload.head,
        complete=len(upload.head) < SNIFF_BYTES,
        block_size=block_size,
    )


def _may_add_fields(data_type: DataTypeSpec, options: IngestOptions) -> bool:
    return not data_type.built_in and (options.allow_field_addition or data_type.infer_schema)


def _check_reader(
    reader: RecordReader,
    result: FileValidation,
    *,
    max_errors: int,
    options: IngestOptions,
    on_progress: Callable[[int], None] | None = None,
    spill_after_bytes: int = SPILL_AFTER_BYTES,
    max_spilled_bytes: int = MAX_SPILLED_BYTES,
    observer: KeptObserver | None = None,
) -> None:
    data_type = result.data_type
    may_add = _may_add_fields(data_type, options)
    if reader.header is not None and not check_header(
        reader, reader.header, data_type, result, may_add=may_add
    ):
        return
    while True:
        kept = _KeptRows(
            data_type,
            reader.header,
            max_errors,
            options.max_bad_records,
            may_add=may_add,
            spill_after_bytes=spill_after_bytes,
            max_spilled_bytes=max_spilled_bytes,
            observer=observer,
        )
        try:
            for read in read_ahead(reader):
                kept.add(read.batch, read.malformed)
                if on_progress is not None:
                    on_progress(read.rows_read)
        except ReadAgain:
            kept.batches.clear()  # and the observer lets go: this pass's batches are not the rows
            observer = None
            continue  # the reader reads the file another way: start over
        except BaseException:
            kept.batches.close()
            raise
        break
    try:
        _conclude(reader, kept, result)
    finally:
        if result.rows is None:
            kept.batches.close()  # refused: what was spilled goes now


def _conclude(reader: RecordReader, kept: _KeptRows, result: FileValidation) -> None:
    """The verdict on a file read whole: its problems placed, its rows kept if it is accepted."""
    data_type = result.data_type
    if reader.rows_read == 0:
        raise UnreadableFile(
            "the file has no data rows: it has a header but nothing below it. Add at least one row "
            "under the header and upload the file again"
            if reader.header is not None
            else "the file has no data rows: it holds no JSON object. Send one object per row"
        )
    if reader.header is None and not check_keys(kept.columns, data_type, result, may_add=kept.may_add):
        return
    if kept.log.total or reader.malformed:
        report_problems(result, kept.log, reader)
        if result.refused:
            return
    result.new_fields = [kept.types.field(name) for name in kept.new_columns]
    if not data_type.fields and not result.new_fields:
        raise UnreadableFile(
            "the file has no named column to infer the data type from: name the columns in the first "
            "line (CSV) or use keys with names (JSON)"
        )
    result.rows = kept.rows(result.new_fields)


class _KeptRows:
    """One pass over the batches: checks each, keeps its good rows while the file can still be merged."""

    def __init__(
        self,
        data_type: DataTypeSpec,
        header: Header | None,
        max_errors: int,
        max_bad: int,
        *,
        may_add: bool,
        spill_after_bytes: int,
        max_spilled_bytes: int,
        observer: KeptObserver | None = None,
    ) -> None:
        self.checker = BatchChecker(data_type, header)
        self.log = IssueLog(max_errors)
        self.max_bad = max_bad
        self.may_add = may_add
        self.known = set(data_type.field_names)
        self.columns: list[str] = list(header.names) if header is not None else []
        self._seen = set(self.columns)
        self.new_columns: list[str] = [
            name for name in dict.fromkeys(self.columns) if may_add and name and name not in self.known
        ]
        self.types = ColumnTypes()
        self.batches = KeptBatches(
            self.checker.schema,
            spill_after_bytes=spill_after_bytes,
            max_spilled_bytes=max_spilled_bytes,
            observer=observer,
        )
        self.over_budget = False

    def add(self, raw: RawBatch, malformed: int) -> None:
        for name in raw.columns.schema.names:
            if name not in self._seen:
                self._seen.add(name)
                self.columns.append(name)
                if self.may_add and name and name not in self.known:
                    self.new_columns.append(name)
        if raw.problems:
            # A cell of a column that is ignored (or refuses the file) is nobody's problem.
            stored = self.known.union(self.new_columns)
            raw = RawBatch(raw.columns, tuple(p for p in raw.problems if p.column in stored))
        typed, bad = self.checker.check(raw, self.log)
        if self.over_budget:
            return
        if self.log.failed_rows + malformed > self.max_bad:
            self.over_budget = True
            self.batches.clear()  # nothing will be merged: stop holding rows
            return
        good = pc.invert(bad)
        all_good = self.log.failed_rows == 0 or not pc.any(bad).as_py()
        if not all_good:
            typed = [column.filter(good) for column in typed]
        new = {}
        for name in self.new_columns:
            if name in raw.columns.schema.names:
                cells = raw.columns.column(name)
                new[name] = cells if all_good else cells.filter(good)
                self.types.observe(name, new[name])
        rows = raw.columns.num_rows if all_good else pc.sum(good).as_py() or 0
        self.batches.append(typed, new, rows)

    def rows(self, new_fields: list[FieldSpec]) -> KeptRows:
        """The kept rows: the data type's columns, then the new ones typed as inferred."""
        return KeptRows(self.batches, new_fields)
