"""Validating an uploaded file against its data type, batch by batch, whatever its format.

:mod:`.formats` decides the format and decompresses; a reader (:mod:`.csv_reader`,
:mod:`.json_reader`) turns the file into batches of text cells. The success path is all
Arrow: each batch is checked column by column (:mod:`.column_checks`), then against the row
rules, and its good rows are kept as typed columns. Python objects are only made for
problems: at most ``max_errors`` pending issues are kept (the earliest ones, in file
order), the rest are only counted. Places (physical line, or row of a JSON array) are filled
in at the end by the reader (:meth:`.records.RecordReader.locate`), so the fast path never
tracks them.

**Verdict.** A header problem (a required column missing, a duplicated column, a column the
schema lacks without ``allowFieldAddition``) refuses the file. Otherwise up to
``maxBadRecords`` bad rows are tolerated: they are left out and reported, the good rows are
merged. One more, and nothing is merged; rows stop being kept the moment the count passes
the limit.

**Columns the schema lacks** are ignored with a warning for built-in data types (``deals``).
For declared ones they refuse the file unless the upload allows field addition: their
values are then kept as text, their types inferred (:mod:`.type_inference`) from the rows
that are kept, and they are returned as :attr:`FileValidation.new_fields`. A data type with
an inferred schema and no table yet is the case where every column is new.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.dataplane.column_checks import arrow_type, cell_parser, check_column
from ingestion.dataplane.csv_reader import BLOCK_SIZE, CsvRecords
from ingestion.dataplane.formats import SNIFF_BYTES, UploadedFile
from ingestion.dataplane.json_reader import JsonDocumentRecords, NdjsonRecords
from ingestion.dataplane.kept_rows import SPILL_AFTER_BYTES, KeptBatches
from ingestion.dataplane.records import (
    CellProblem,
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
from ingestion.schemas.spec import AbsentWhen, DataTypeSpec, FieldSpec, RowRule

MAX_VALUE_LENGTH = 200
MAX_NAME_LENGTH = 100
# Lists of columns in one message name this many, then say how many more.
LISTED_ITEMS = 10
# Reader problems (nested JSON values) in columns outside the data type sort after its columns.
_UNKNOWN_POSITION = 1 << 30


def shown_value(value: object) -> str | None:
    """A cell as quoted back to the customer: long values are cut so one issue stays readable."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= MAX_VALUE_LENGTH:
        return text
    return text[:MAX_VALUE_LENGTH] + "…"


@dataclass(frozen=True)
class _PendingIssue:
    """A cell problem whose place is not known yet (rows are positions among good records)."""

    row: int
    position: int  # column position in the data type, to order problems within a row
    column: str
    value: str | None
    message: str


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
) -> FileValidation:
    """Read and check a whole file; never raises for anything wrong with the file itself.

    ``max_bytes`` refuses a file larger than that once decompressed; ``on_progress`` is called
    with the records read so far after every batch. Kept rows past ``spill_after_bytes`` go to
    local disk (:mod:`.kept_rows`): close the result once its rows are merged.
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
) -> None:
    data_type = result.data_type
    may_add = _may_add_fields(data_type, options)
    if reader.header is not None and not _check_header(
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
        )
        try:
            for raw in reader.batches():
                kept.add(raw, reader.malformed)
                if on_progress is not None:
                    on_progress(reader.rows_read)
        except ReadAgain:
            kept.batches.close()
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
    if reader.header is None and not _check_keys(kept.columns, data_type, result, may_add=kept.may_add):
        return
    if kept.log.total or reader.malformed:
        _report_problems(result, kept.log, reader)
        if result.refused:
            return
    result.new_fields = [kept.types.field(name) for name in kept.new_columns]
    if not data_type.fields and not result.new_fields:
        raise UnreadableFile(
            "the file has no named column to infer the data type from: name the columns in the first "
            "line (CSV) or use keys with names (JSON)"
        )
    result.rows = kept.rows(result.new_fields)


def _check_header(
    reader: RecordReader, header: Header, data_type: DataTypeSpec, result: FileValidation, *, may_add: bool
) -> bool:
    """Reject a header with missing required, duplicated or (declared types) unknown columns."""
    counts = Counter(name for name in header.names if name)
    known = set(data_type.field_names)
    unnamed = [str(index) for index, name in enumerate(header.names, start=1) if not name]
    if unnamed:
        subject = (
            f"columns {_listed(unnamed)} of the header have"
            if len(unnamed) > 1
            else f"column {unnamed[0]} of the header has"
        )
        result.warnings.append(f"{subject} no name and {'were' if len(unnamed) > 1 else 'was'} ignored")
    unknown = [name for name in counts if name not in known]
    refused_new = _unknown_columns(unknown, data_type, result, may_add=may_add)
    duplicated = [name for name, count in counts.items() if count > 1]
    missing = [name for name in data_type.required_fields if name not in counts]
    if not duplicated and not missing and not refused_new:
        return True
    issues = [
        ValidationIssue(
            line=header.line,
            column=name,
            message=f"column '{name}' appears {counts[name]} times in the header",
        )
        for name in duplicated
    ] + [
        ValidationIssue(
            line=header.line, column=name, message=f"required column '{name}' is missing from the header"
        )
        for name in missing
    ]
    issues += _new_column_issues(refused_new, data_type, header.line)
    if not duplicated and not missing:
        result.refuse(_new_columns_message(refused_new, data_type), issues)
        return False
    parts = []
    if duplicated:
        parts.append(f"columns are duplicated ({_listed([_short(name) for name in duplicated])})")
    if missing:
        parts.append(f"required columns are missing ({', '.join(missing)})")
    if refused_new:
        parts.append(_new_columns_message(refused_new, data_type).removesuffix(". Nothing was merged."))
    hint = reader.header_hint() if isinstance(reader, CsvRecords) else None
    result.refuse(
        f"the header (line {header.line}) does not fit the {data_type.name} data type: {'; '.join(parts)}; "
        "nothing was merged. Fix the first line of the file as listed in validationErrors "
        "and upload it again." + (f" Note: {hint}" if hint else ""),
        issues,
    )
    return False


def _check_keys(
    columns: list[str], data_type: DataTypeSpec, result: FileValidation, *, may_add: bool
) -> bool:
    """JSON has no header: its keys are checked once all are known. Missing keys are row problems."""
    if "" in columns:
        result.warnings.append("a key with an empty name was ignored")
    unknown = [name for name in columns if name and name not in set(data_type.field_names)]
    refused_new = _unknown_columns(unknown, data_type, result, may_add=may_add)
    if not refused_new:
        return True
    result.refuse(
        _new_columns_message(refused_new, data_type), _new_column_issues(refused_new, data_type, None)
    )
    return False


def _unknown_columns(
    unknown: list[str], data_type: DataTypeSpec, result: FileValidation, *, may_add: bool
) -> list[str]:
    """Warn about the unknown columns a built-in type ignores; return those that refuse the file."""
    if data_type.built_in:
        if len(unknown) == 1:
            result.warnings.append(
                f"column {_quoted(unknown[0])} is not part of the {data_type.name} data type and was ignored"
            )
        elif unknown:
            result.warnings.append(
                f"{len(unknown)} columns are not part of the {data_type.name} data type and were ignored: "
                + _listed([_quoted(name) for name in unknown])
            )
        return []
    return [] if may_add else unknown


def _short(name: str) -> str:
    """A column name as a message shows it: a header cell can be any length."""
    return name if len(name) <= MAX_NAME_LENGTH else name[:MAX_NAME_LENGTH] + "…"


def _quoted(name: str) -> str:
    return f"'{_short(name)}'"


def _listed(items: list[str]) -> str:
    """The first few items, and how many more: one message per file, whatever its width."""
    shown = ", ".join(items[:LISTED_ITEMS])
    return shown if len(items) <= LISTED_ITEMS else f"{shown} and {len(items) - LISTED_ITEMS} more"


def _new_columns_message(names: list[str], data_type: DataTypeSpec) -> str:
    listed = _listed([_short(name) for name in names])
    subject = f"columns {listed} are" if len(names) > 1 else f"column {listed} is"
    return (
        f"{subject} not in the schema of data type '{data_type.name}'; send allowFieldAddition=true "
        "to add them. Nothing was merged."
    )


def _new_column_issues(names: list[str], data_type: DataTypeSpec, line: int | None) -> list[ValidationIssue]:
    return [
        ValidationIssue(
            line=line,
            column=name,
            message=f"column '{name}' is not in the schema of data type '{data_type.name}'",
        )
        for name in names
    ]


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
    ) -> None:
        self.checker = _BatchChecker(data_type, header)
        self.log = _IssueLog(max_errors)
        self.max_bad = max_bad
        self.may_add = may_add
        self.known = set(data_type.field_names)
        self.columns: list[str] = list(header.names) if header is not None else []
        self._seen = set(self.columns)
        self.new_columns: list[str] = [
            name for name in dict.fromkeys(self.columns) if may_add and name and name not in self.known
        ]
        self.types = ColumnTypes()
        self.batches = KeptBatches(self.checker.schema, spill_after_bytes=spill_after_bytes)
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


def check_rows(data_type: DataTypeSpec, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.BooleanArray]:
    """Check one batch of raw string rows on its own: the typed rows and which rows are bad.

    What :func:`validate_file` does to every batch, without the file around it.
    """
    header = Header(names=tuple(batch.schema.names), line=1)
    checker = _BatchChecker(data_type, header)
    arrays, bad = checker.check(RawBatch(batch), _IssueLog(cap=0))
    return pa.RecordBatch.from_arrays(arrays, schema=checker.schema), bad


class _BatchChecker:
    """Checks record batches of one file: reader problems, column checks, then row rules.

    With a header (CSV) only its columns are checked, the header check having made sure the
    required ones are there. Without one (JSON), a batch lacking a column has it empty, so a
    missing required key is a problem of each row that lacks it.
    """

    def __init__(self, data_type: DataTypeSpec, header: Header | None) -> None:
        self.data_type = data_type
        present = set(header.names) if header is not None else set(data_type.field_names)
        self.fields = [f for f in data_type.fields if f.name in present]
        self.positions = {f.name: index for index, f in enumerate(data_type.fields)}
        self.parsers = {f.name: cell_parser(data_type, f) for f in self.fields}
        # Nullable throughout: the Iceberg schema (required columns included) is applied when
        # the rows are merged.
        self.schema = pa.schema([pa.field(f.name, arrow_type(f)) for f in data_type.fields])
        self.rows_seen = 0

    def check(self, raw: RawBatch, log: _IssueLog) -> tuple[list[pa.Array], pa.BooleanArray]:
        """Typed columns (the data type's, in its order) of a batch, and which of its rows are bad."""
        batch = raw.columns
        names = batch.schema.names
        rows = batch.num_rows
        columns: dict[str, pa.Array] = {}
        bad = pc.is_valid(pa.nulls(rows, pa.bool_()))  # all False
        unreadable: dict[str, pa.BooleanArray] = {}
        for problem in raw.problems:
            bad = self._flag_problem(log, bad, problem)
            unreadable[problem.column] = problem.mask
        for spec in self.fields:
            cells = batch.column(spec.name) if spec.name in names else _empty_cells(rows)
            checked = check_column(spec, cells, self.parsers[spec.name])
            columns[spec.name] = checked.values
            missing, invalid = checked.missing, checked.invalid
            if spec.name in unreadable:  # already reported: an unreadable cell is not also missing
                missing = pc.and_(missing, pc.invert(unreadable[spec.name]))
            bad = self._flag(log, bad, spec, missing, cells, "value is required", show_value=False)
            bad = self._flag(log, bad, spec, invalid, cells, None, show_value=True)
        for rule in self.data_type.rules:
            mask = self._rule_violations(rule, batch)
            if mask is not None:
                target = self.data_type.field(rule.field)
                cells = batch.column(rule.field) if rule.field in names else None
                bad = self._flag(
                    log, bad, target, mask, cells, rule.message(), show_value=isinstance(rule, AbsentWhen)
                )
        log.count_failed_rows(bad)
        self.rows_seen += rows
        arrays = [
            columns[f.name] if f.name in columns else pa.nulls(rows, arrow_type(f))
            for f in self.data_type.fields
        ]
        return arrays, bad

    def _flag_problem(self, log: _IssueLog, bad: pa.BooleanArray, problem: CellProblem) -> pa.BooleanArray:
        if not pc.any(problem.mask).as_py():
            return bad
        position = self.positions.get(problem.column, _UNKNOWN_POSITION)
        log.add(problem.mask, self.rows_seen, position, problem.column, problem.shown, problem.message)
        return pc.or_(bad, problem.mask)

    def _flag(
        self,
        log: _IssueLog,
        bad: pa.BooleanArray,
        spec: FieldSpec,
        mask: pa.BooleanArray,
        raw: pa.Array | None,
        message: str | None,
        *,
        show_value: bool,
    ) -> pa.BooleanArray:
        if not pc.any(mask).as_py():
            return bad
        text = message if message is not None else f"is not {spec.describe()}"
        log.add(
            mask,
            self.rows_seen,
            self.positions[spec.name],
            spec.name,
            raw if show_value else None,
            text,
            quote=message is None,
        )
        return pc.or_(bad, mask)

    def _rule_violations(self, rule: RowRule, batch: pa.RecordBatch) -> pa.BooleanArray | None:
        """Rows breaking ``rule``, judged on the raw cells as the model judges its fields."""
        names = batch.schema.names
        if rule.when_field not in names:
            return None
        triggered = pc.is_in(batch.column(rule.when_field), value_set=pa.array(sorted(rule.values)))
        if rule.field in names:
            present = pc.not_equal(batch.column(rule.field), "")
        else:
            present = pc.and_(triggered, False)
        if isinstance(rule, AbsentWhen):
            return pc.and_(triggered, present)
        return pc.and_(triggered, pc.invert(present))


def _empty_cells(rows: int) -> pa.Array:
    return pa.nulls(rows, pa.string()).fill_null("")


class _IssueLog:
    """Counts every problem but keeps only the earliest ``cap`` as Python objects."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self.failed_rows = 0
        self.pending: list[_PendingIssue] = []
        self._batch: list[_PendingIssue] = []

    def add(
        self,
        mask: pa.BooleanArray,
        offset: int,
        position: int,
        column: str,
        raw: pa.Array | None,
        message: str,
        *,
        quote: bool = False,
    ) -> None:
        """Count the problems in ``mask``; keep the first ones. ``quote``: the message follows the value."""
        self.total += pc.sum(mask).as_py()
        room = self.cap - len(self.pending)
        if room <= 0:
            return
        rows = pc.indices_nonzero(mask)[:room]
        values = raw.take(rows).to_pylist() if raw is not None else [None] * len(rows)
        for row, value in zip(rows.to_pylist(), values, strict=True):
            shown = shown_value(value)
            text = f"'{shown}' {message}" if quote else message
            self._batch.append(_PendingIssue(offset + row, position, column, shown, text))

    def count_failed_rows(self, bad: pa.BooleanArray) -> None:
        """Close a batch: count its bad rows and keep its earliest problems in row order."""
        self.failed_rows += pc.sum(bad).as_py() or 0
        self._batch.sort(key=lambda issue: (issue.row, issue.position))
        self.pending.extend(self._batch[: self.cap - len(self.pending)])
        self._batch = []


def _place_order(place: Place | None) -> int:
    if place is None:
        return 0
    if place.line is not None:
        return place.line
    return place.row if place.row is not None else 0


def _report_problems(result: FileValidation, log: _IssueLog, reader: RecordReader) -> None:
    """Place every kept problem in the file, and give the verdict on the bad rows."""
    cap = log.cap
    malformed = reader.malformed
    located = reader.locate([issue.row for issue in log.pending], min(malformed, cap))
    found = [
        (located.rows.get(issue.row), issue.position, issue.column, issue.value, issue.message)
        for issue in log.pending
    ]
    found += [
        (record.place, -1, None, shown_value(record.value), record.message) for record in located.malformed
    ]
    found.sort(key=lambda item: (_place_order(item[0]), item[1]))
    result.issues = [
        ValidationIssue(
            line=place.line if place else None,
            row=place.row if place else None,
            column=column,
            value=value,
            message=message,
        )
        for place, _, column, value, message in found[:cap]
    ]
    result.issue_count = log.total + malformed
    result.failed_rows = log.failed_rows + malformed
    rows_read = reader.rows_read
    listed = (
        "the rows listed in validationErrors"
        if result.issue_count <= cap
        else f"the problems in validationErrors (the first {cap} of {result.issue_count})"
    )
    allowed = result.max_bad_records
    if result.failed_rows <= allowed:
        accepted = rows_read - result.failed_rows
        result.message = (
            f"{result.failed_rows} rows were rejected ({result.failed_rows} of {rows_read} failed "
            f"validation, within maxBadRecords={allowed}); the other {accepted} rows were accepted. "
            f"Fix {listed} and upload those rows again."
        )
        return
    result.refused = True
    result.close()
    over = f", more than maxBadRecords={allowed} allows" if allowed else ""
    result.message = (
        f"{result.failed_rows} of {rows_read} rows failed validation{over}; nothing was merged. "
        f"Fix {listed} and upload the file again."
    )
