"""Checking one batch of text cells against a data type: reader problems, each column, then the row rules.

:class:`BatchChecker` turns each batch of a file into the data type's typed columns and a
mask of its bad rows, logging every problem in an :class:`.issues.IssueLog`;
:func:`check_rows` does the same to one batch on its own, without a file around it. Cells
are judged by :mod:`.column_checks`; the row rules (a field required, or absent, when
another holds certain values) are judged here, on the raw cells.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.dataplane.column_checks import arrow_type, cell_parser, check_column
from ingestion.dataplane.issues import IssueLog
from ingestion.dataplane.records import CellProblem, Header, RawBatch
from ingestion.schemas.spec import AbsentWhen, DataTypeSpec, FieldSpec, RowRule

# Reader problems (nested JSON values) in columns outside the data type sort after its columns.
_UNKNOWN_POSITION = 1 << 30


def check_rows(data_type: DataTypeSpec, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.BooleanArray]:
    """Check one batch of raw string rows on its own: the typed rows and which rows are bad.

    What :func:`.validation.validate_file` does to every batch, without the file around it.
    """
    header = Header(names=tuple(batch.schema.names), line=1)
    checker = BatchChecker(data_type, header)
    arrays, bad = checker.check(RawBatch(batch), IssueLog(cap=0))
    return pa.RecordBatch.from_arrays(arrays, schema=checker.schema), bad


class BatchChecker:
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

    def check(self, raw: RawBatch, log: IssueLog) -> tuple[list[pa.Array], pa.BooleanArray]:
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

    def _flag_problem(self, log: IssueLog, bad: pa.BooleanArray, problem: CellProblem) -> pa.BooleanArray:
        if not pc.any(problem.mask).as_py():
            return bad
        position = self.positions.get(problem.column, _UNKNOWN_POSITION)
        log.add(problem.mask, self.rows_seen, position, problem.column, problem.shown, problem.message)
        return pc.or_(bad, problem.mask)

    def _flag(
        self,
        log: IssueLog,
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
