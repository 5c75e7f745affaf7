"""Validating an uploaded file against its data type, batch by batch.

The success path is all Arrow: each record batch is checked column by column
(:mod:`.column_checks`), then against the row rules, and kept as typed columns. Python
objects are only made for problems: at most ``max_errors`` pending issues are kept (the
earliest ones, in file order), the rest are only counted. Line numbers are filled in at
the end by one extra read of the file (:func:`.csv_reader.locate_lines`), so the fast
path never tracks them.

The verdict for the whole file is taken in :meth:`FileValidation.accepts`: today any bad
row refuses the file. A ``max_bad_records`` tolerance would change that method and keep
``typed.filter(~bad)`` in :func:`_check_stream` instead of dropping every batch: the
per-row ``bad`` masks already say which rows to leave out. Header problems always refuse.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.dataplane.column_checks import arrow_type, cell_parser, check_column
from ingestion.dataplane.csv_reader import (
    BLOCK_SIZE,
    CsvStream,
    Header,
    OpenSource,
    UnreadableFile,
    locate_lines,
    separator_hint,
)
from ingestion.domain import ValidationIssue
from ingestion.schemas.spec import AbsentWhen, DataTypeSpec, FieldSpec, RowRule

MAX_VALUE_LENGTH = 200


def shown_value(value: str | None) -> str | None:
    """A cell as quoted back to the customer: long values are cut so one issue stays readable."""
    if value is None or len(value) <= MAX_VALUE_LENGTH:
        return value
    return value[:MAX_VALUE_LENGTH] + "…"


@dataclass(frozen=True)
class _PendingIssue:
    """A cell problem whose physical line is not known yet (rows are positions among good records)."""

    row: int
    position: int  # column position in the data type, to order problems within a row
    column: str
    value: str | None
    message: str


@dataclass
class FileValidation:
    """What validating a file found: typed rows to merge, or why the file is refused."""

    data_type: DataTypeSpec
    processed_lines: int = 0
    warnings: list[str] = field(default_factory=list)
    issues: list[ValidationIssue] = field(default_factory=list)
    issue_count: int = 0
    failed_rows: int = 0
    message: str | None = None
    table: pa.Table | None = None

    def accepts(self) -> bool:
        """All or nothing: one bad row, or a bad header, refuses the whole file."""
        return self.message is None and self.issue_count == 0 and self.table is not None


def validate_file(
    open_source: OpenSource,
    data_type: DataTypeSpec,
    separator: str,
    *,
    max_errors: int,
    block_size: int = BLOCK_SIZE,
) -> FileValidation:
    """Read and check a whole file; never raises for anything wrong with the file itself."""
    result = FileValidation(data_type=data_type)
    try:
        with CsvStream(open_source, separator, block_size=block_size) as stream:
            try:
                _check_stream(stream, result, max_errors=max_errors, open_source=open_source)
            finally:
                result.processed_lines = stream.rows_read  # also when reading stopped half-way
    except UnreadableFile as error:
        result.table = None
        result.message = str(error)
        result.issues = (
            [ValidationIssue(line=error.line, message=str(error))] if error.line is not None else []
        )
        result.issue_count = len(result.issues)
    return result


def _check_stream(
    stream: CsvStream, result: FileValidation, *, max_errors: int, open_source: OpenSource
) -> None:
    data_type = result.data_type
    if not _check_header(stream.header, data_type, stream.separator, result):
        return
    checker = _BatchChecker(data_type, stream.header)
    log = _IssueLog(max_errors)
    batches: list[pa.RecordBatch] = []
    for batch in stream.batches():
        typed, _bad = checker.check(batch, log)
        if log.total == 0 and stream.invalid_rows.count == 0:
            batches.append(typed)
        else:
            batches.clear()  # the file is refused: stop holding rows that will not be merged
    if stream.rows_read == 0:
        raise UnreadableFile(
            "the file has no data rows: it has a header but nothing below it. Add at least one row "
            "under the header and upload the file again"
        )
    malformed = stream.invalid_rows.count
    if log.total or malformed:
        _report_problems(result, log, malformed, stream, open_source)
        return
    result.table = pa.Table.from_batches(batches, schema=checker.schema)


def _check_header(header: Header, data_type: DataTypeSpec, separator: str, result: FileValidation) -> bool:
    """Reject a header with missing required or duplicated columns; warn about unknown ones."""
    counts = Counter(name for name in header.names if name)
    known = set(data_type.field_names)
    for index, name in enumerate(header.names, start=1):
        if not name:
            result.warnings.append(f"column {index} of the header has no name and was ignored")
        elif name not in known:
            result.warnings.append(
                f"column '{name}' is not part of the {data_type.name} data type and was ignored"
            )
    duplicated = [name for name, count in counts.items() if count > 1]
    missing = [name for name in data_type.required_fields if name not in counts]
    if not duplicated and not missing:
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
    parts = []
    if duplicated:
        parts.append(f"columns are duplicated ({', '.join(duplicated)})")
    if missing:
        parts.append(f"required columns are missing ({', '.join(missing)})")
    hint = separator_hint(header, separator)
    result.message = (
        f"the header (line {header.line}) does not fit the {data_type.name} data type: {'; '.join(parts)}; "
        "nothing was merged. Fix the first line of the file as listed in validationErrors "
        "and upload it again." + (f" Note: {hint}" if hint else "")
    )
    result.issues = issues
    result.issue_count = len(issues)
    return False


def check_rows(data_type: DataTypeSpec, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.BooleanArray]:
    """Check one batch of raw string rows on its own: the typed rows and which rows are bad.

    What :func:`validate_file` does to every batch, without the file around it.
    """
    header = Header(names=tuple(batch.schema.names), line=1)
    return _BatchChecker(data_type, header).check(batch, _IssueLog(cap=0))


class _BatchChecker:
    """Checks record batches of one file: column checks, then row rules."""

    def __init__(self, data_type: DataTypeSpec, header: Header) -> None:
        self.data_type = data_type
        present = set(header.names)
        self.fields = [f for f in data_type.fields if f.name in present]
        self.positions = {f.name: index for index, f in enumerate(data_type.fields)}
        self.parsers = {f.name: cell_parser(data_type, f) for f in self.fields}
        # Nullable throughout: refused batches may hold nulls in required columns; the Iceberg
        # schema (required columns included) is applied when the rows are merged.
        self.schema = pa.schema([pa.field(f.name, arrow_type(f)) for f in data_type.fields])
        self.rows_seen = 0

    def check(self, batch: pa.RecordBatch, log: _IssueLog) -> tuple[pa.RecordBatch, pa.BooleanArray]:
        """Typed batch (data type's columns, in its order) and which of its rows are bad."""
        columns: dict[str, pa.Array] = {}
        bad = pc.is_valid(pa.nulls(batch.num_rows, pa.bool_()))  # all False
        for spec in self.fields:
            raw = batch.column(spec.name)
            checked = check_column(spec, raw, self.parsers[spec.name])
            columns[spec.name] = checked.values
            bad = self._flag(log, bad, spec, checked.missing, raw, "value is required", show_value=False)
            bad = self._flag(log, bad, spec, checked.invalid, raw, None, show_value=True)
        for rule in self.data_type.rules:
            mask = self._rule_violations(rule, batch)
            if mask is not None:
                target = self.data_type.field(rule.field)
                raw = batch.column(rule.field) if rule.field in batch.schema.names else None
                bad = self._flag(
                    log, bad, target, mask, raw, rule.message(), show_value=isinstance(rule, AbsentWhen)
                )
        log.count_failed_rows(bad)
        self.rows_seen += batch.num_rows
        arrays = [
            columns[f.name] if f.name in columns else pa.nulls(batch.num_rows, arrow_type(f))
            for f in self.data_type.fields
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema), bad

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
        log.add(mask, self.rows_seen, self.positions[spec.name], spec, raw if show_value else None, message)
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
        spec: FieldSpec,
        raw: pa.Array | None,
        message: str | None,
    ) -> None:
        self.total += pc.sum(mask).as_py()
        room = self.cap - len(self.pending)
        if room <= 0:
            return
        rows = pc.indices_nonzero(mask)[:room]
        values = raw.take(rows).to_pylist() if raw is not None else [None] * len(rows)
        for row, value in zip(rows.to_pylist(), values, strict=True):
            shown = shown_value(value)
            text = message if message is not None else f"'{shown}' is not {spec.describe()}"
            self._batch.append(_PendingIssue(offset + row, position, spec.name, shown, text))

    def count_failed_rows(self, bad: pa.BooleanArray) -> None:
        """Close a batch: count its bad rows and keep its earliest problems in row order."""
        self.failed_rows += pc.sum(bad).as_py() or 0
        self._batch.sort(key=lambda issue: (issue.row, issue.position))
        self.pending.extend(self._batch[: self.cap - len(self.pending)])
        self._batch = []


def _report_problems(
    result: FileValidation, log: _IssueLog, malformed: int, stream: CsvStream, open_source: OpenSource
) -> None:
    """Give every kept problem its physical line and write the refusal message."""
    cap = log.cap
    width = len(stream.header.names)
    lines = locate_lines(
        open_source,
        stream.separator,
        width=width,
        rows=[issue.row for issue in log.pending],
        malformed=min(malformed, cap),
    )
    located = [
        (lines.rows.get(issue.row), issue.position, issue.column, issue.value, issue.message)
        for issue in log.pending
    ]
    located += [
        (
            row.line,
            -1,
            None,
            shown_value(row.text),
            f"expected {width} fields as in the header but found {row.fields}; "
            "check the separator and that values holding it are quoted",
        )
        for row in lines.malformed
    ]
    located.sort(key=lambda item: (item[0] if item[0] is not None else 0, item[1]))
    result.issues = [
        ValidationIssue(line=line, column=column, value=value, message=message)
        for line, _, column, value, message in located[:cap]
    ]
    result.issue_count = log.total + malformed
    result.failed_rows = log.failed_rows + malformed
    listed = (
        "the rows listed in validationErrors"
        if result.issue_count <= cap
        else f"the problems in validationErrors (the first {cap} of {result.issue_count})"
    )
    result.message = (
        f"{result.failed_rows} of {stream.rows_read} rows failed validation; nothing was merged. "
        f"Fix {listed} and upload the file again."
    )
