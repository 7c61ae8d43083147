"""The data schema file: which columns a table has, their dtypes, nullability, ranges and allowed values.

This module only reads and writes the file; `lockship.core.data.validation` checks data against it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from lockship.core.errors import LockshipError
from lockship.core.params import Section
from lockship.core.yamlio import load_yaml

DTYPES = ("int64", "float64", "bool", "str")
# What a value outside a column's min/max or allowed values gets: an error (422 when served), or served and
# counted (`lockship_flagged_values_total`, the input log's `flagged`) and let through validation.
OUTSIDE = ("reject", "flag")
# Which rows `min_rows` counts: those of each file on its own, or of all the files checked together
# (the validate stage's train and test splits: the whole source table).
MIN_ROWS_COUNTS = ("each_file", "all_files")
Scalar = int | float | bool | str


@dataclass(frozen=True)
class ColumnRule:
    """What one column must hold."""

    name: str
    dtype: str
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[Scalar, ...] | None = None
    outside: str = "reject"


@dataclass(frozen=True)
class Schema:
    """A table's contract. `files` are the glob patterns of data files it governs (for check-data)."""

    columns: tuple[ColumnRule, ...]
    min_rows: int = 1
    target: str | None = None
    strict: bool = True
    files: tuple[str, ...] = ()
    min_rows_counts: str = "each_file"

    def column(self, name: str) -> ColumnRule | None:
        return next((rule for rule in self.columns if rule.name == name), None)


def load_schema(path: str | os.PathLike[str]) -> Schema:
    """Read a schema file, reporting every problem in it with its line."""
    document = load_yaml(path)
    if not isinstance(document.data, Mapping):
        raise LockshipError(f"{document.where(())}: expected a mapping with a 'columns' key")
    top = Section(document, (), document.data)
    min_rows = top.get("min_rows", int, 1, minimum=0)
    min_rows_counts = top.get("min_rows_counts", str, "each_file", choices=MIN_ROWS_COUNTS)
    target = top.optional("target", str)
    strict = top.get("strict", bool, True)
    files = top.get("files", list, [])
    if any(not isinstance(pattern, str) for pattern in files):
        top.problem("files", "expected a list of glob patterns")
    columns_section = top.section("columns")
    rules = [_read_column(columns_section, str(name)) for name in columns_section.values]
    if not rules and not top.problems:
        top.problem("columns", "no columns declared")
    if target is not None and target not in columns_section.values:
        top.problem("target", f"'{target}' is not one of the declared columns")
    top.check()
    return Schema(
        columns=tuple(rules),
        min_rows=min_rows,
        target=target,
        strict=strict,
        files=tuple(files),
        min_rows_counts=min_rows_counts,
    )


def _read_column(columns: Section, name: str) -> ColumnRule:
    rule = columns.section(name)
    dtype = rule.get("dtype", str, choices=DTYPES)
    numeric = dtype in ("int64", "float64")
    minimum = rule.optional("min", float)
    maximum = rule.optional("max", float)
    if not numeric and (minimum is not None or maximum is not None):
        rule.problem(None, f"min and max apply to numeric columns, not {dtype}")
    if minimum is not None and maximum is not None and minimum > maximum:
        rule.problem("min", f"min {minimum} is greater than max {maximum}")
    allowed = rule.optional("allowed", list)
    if allowed is not None and not allowed:
        rule.problem("allowed", "an empty list would reject every value")
    return ColumnRule(
        name=name,
        dtype=dtype,
        nullable=rule.get("nullable", bool, False),
        minimum=minimum,
        maximum=maximum,
        allowed=None if allowed is None else tuple(allowed),
        outside=rule.get("outside", str, "reject", choices=OUTSIDE),
    )


def schema_yaml(schema: Schema) -> str:
    """The schema file text for a schema, with a header that says what each field means."""
    columns: dict[str, dict[str, Any]] = {}
    for rule in schema.columns:
        entry: dict[str, Any] = {"dtype": rule.dtype, "nullable": rule.nullable}
        if rule.minimum is not None:
            entry["min"] = rule.minimum
        if rule.maximum is not None:
            entry["max"] = rule.maximum
        if rule.allowed is not None:
            entry["allowed"] = list(rule.allowed)
        if rule.minimum is not None or rule.maximum is not None or rule.allowed is not None:
            entry["outside"] = rule.outside
        columns[rule.name] = entry
    body = {
        "files": list(schema.files),
        "target": schema.target,
        "min_rows": schema.min_rows,
        "min_rows_counts": schema.min_rows_counts,
        "strict": schema.strict,
        "columns": columns,
    }
    header = (
        "# lockship data schema.\n"
        "# files: glob patterns of the data files this schema governs (used by the check-data hook).\n"
        "# target: the label column. min_rows: fewest data rows; min_rows_counts says of what: each_file\n"
        "# (every file on its own) or all_files (the files checked together: the validate stage's train and\n"
        "# test splits, i.e. the whole source table). strict: columns not listed here are errors.\n"
        "# Per column: dtype (int64, float64, bool, str), nullable (may be missing, or left out of a request),\n"
        "# min and max (numeric, inclusive), allowed (the values expected), and outside: what a value outside\n"
        "# min/max or allowed gets: reject (a validation error; 422 when served) or flag (passes validation;\n"
        "# served, counted in /metrics and marked in the input log). A category the model's encoder ignores\n"
        "# is always served and flagged.\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=120)
