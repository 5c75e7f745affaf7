"""Checking a file's column names against its data type: the CSV header, or the keys of its JSON objects.

A missing required column, a duplicated one, or (for a declared data type, unless the upload
allows field addition) a column the schema lacks refuses the file; a built-in data type
ignores the columns it lacks, with a warning. JSON has no header: its keys are checked once
every record is read, and a missing key is a problem of each row that lacks it
(:mod:`.batch_checks`). Messages list at most :data:`LISTED_ITEMS` columns and cut names
longer than :data:`MAX_NAME_LENGTH`.
"""

from __future__ import annotations

from collections import Counter

from ingestion.dataplane.csv_records import CsvRecords
from ingestion.dataplane.file_validation import FileValidation
from ingestion.dataplane.records import Header, RecordReader
from ingestion.domain import ValidationIssue
from ingestion.schemas.spec import DataTypeSpec

MAX_NAME_LENGTH = 100
# Lists of columns in one message name this many, then say how many more.
LISTED_ITEMS = 10


def check_header(
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


def check_keys(columns: list[str], data_type: DataTypeSpec, result: FileValidation, *, may_add: bool) -> bool:
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
