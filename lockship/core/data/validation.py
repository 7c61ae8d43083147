"""Checking a table against a schema with pandera, reported as one line per violation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockship.core.data.schema import ColumnRule, Schema

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

ROW_DETAILS_PER_COLUMN = 20


@dataclass(frozen=True)
class Violation:
    """One broken rule: `row` counts data rows from 1 (the CSV header is line 1, row 1 is line 2)."""

    column: str | None
    message: str
    row: int | None = None

    def line(self, label: str) -> str:
        """`label: row N, column 'C': message`, leaving out what does not apply."""
        row = f"row {self.row}" if self.row is not None else ""
        column = f"column '{self.column}'" if self.column is not None else ""
        where = ", ".join(part for part in (row, column) if part)
        return f"{label}: {where}: {self.message}" if where else f"{label}: {self.message}"


def format_violations(label: str, violations: list[Violation], limit: int) -> list[str]:
    """At most `limit` lines, then one line counting the rest."""
    lines = [violation.line(label) for violation in violations[:limit]]
    if len(violations) > limit:
        lines.append(f"{label}: {len(violations) - limit} more violation(s) not shown")
    return lines


def validate_frame(frame: pd.DataFrame, schema: Schema) -> list[Violation]:
    """Every violation of `schema` in `frame`, file-level first, then by row and column order."""
    from pandera.errors import SchemaErrors

    violations: list[Violation] = []
    # With min_rows_counts: all_files the caller checks the total (`total_rows_problem`); a file still needs a row.
    fewest = schema.min_rows if schema.min_rows_counts == "each_file" else 1
    if len(frame) < max(fewest, 1):
        wanted = f"at least {fewest}" if fewest > 1 else "at least one"
        violations.append(Violation(None, f"{len(frame)} data row(s), the schema requires {wanted}"))
    frame = _widen_integer_floats(frame, schema)
    # A header-only file has no values to judge dtypes by; only its columns can be checked.
    dtype_failures = _dtype_violations(frame, schema) if len(frame) else []
    violations.extend(dtype_failures)
    failed_columns = {violation.column for violation in dtype_failures}
    checked = [rule for rule in schema.columns if rule.name not in failed_columns]
    try:
        _pandera_schema(checked, strict=schema.strict, known=[rule.name for rule in schema.columns]).validate(
            frame, lazy=True
        )
    except SchemaErrors as errors:
        violations.extend(_from_failure_cases(errors.failure_cases, schema))
    order = {rule.name: index for index, rule in enumerate(schema.columns)}
    return sorted(
        violations,
        key=lambda v: (v.row is not None, v.row or 0, order.get(v.column or "", -1), v.message),
    )


def total_rows_problem(rows: int, files: int, schema: Schema) -> str | None:
    """For `min_rows_counts: all_files`: why `rows` data rows in all `files` checked together are too few, or None."""
    if schema.min_rows_counts != "all_files" or rows >= schema.min_rows:
        return None
    return f"{rows} data row(s) in the {files} file(s) together, the schema requires at least {schema.min_rows}"


def _widen_integer_floats(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    # A float column whose values all happen to be whole numbers reads as int64; that is not an error.
    import pandas as pd

    widen = [
        rule.name
        for rule in schema.columns
        if rule.dtype == "float64" and rule.name in frame and pd.api.types.is_integer_dtype(frame[rule.name].dtype)
    ]
    return frame.astype(dict.fromkeys(widen, "float64")) if widen else frame


def _dtype_violations(frame: pd.DataFrame, schema: Schema) -> list[Violation]:
    import pandas as pd

    violations: list[Violation] = []
    for rule in schema.columns:
        if rule.name not in frame or _dtype_matches(frame[rule.name], rule.dtype):
            continue
        column = frame[rule.name]
        bad_values = _bad_values(column, rule)
        if rule.dtype == "int64" and pd.api.types.is_float_dtype(column.dtype) and not bad_values:
            continue  # pandas reads an integer column with missing values as floats
        violations.append(Violation(rule.name, f"dtype is {column.dtype}, expected {rule.dtype}"))
        violations.extend(bad_values)
    return violations


def _dtype_matches(column: pd.Series, dtype: str) -> bool:
    import pandas as pd

    checks = {
        "int64": pd.api.types.is_integer_dtype,
        "float64": pd.api.types.is_float_dtype,
        "bool": pd.api.types.is_bool_dtype,
        "str": lambda d: pd.api.types.is_string_dtype(d) or pd.api.types.is_object_dtype(d),
    }
    return bool(checks[dtype](column.dtype))


def _bad_values(column: pd.Series, rule: ColumnRule) -> list[Violation]:
    """The rows that keep a column from having its declared numeric dtype."""
    import pandas as pd

    if rule.dtype not in ("int64", "float64"):
        return []
    numbers = pd.to_numeric(column, errors="coerce")
    not_numbers = column.notna() & numbers.isna()
    found = [(index, f"{column[index]!r} is not a number") for index in column.index[not_numbers]]
    if rule.dtype == "int64":
        fractional = numbers.notna() & (numbers % 1 != 0)
        found += [(index, f"{_show(numbers[index])} is not an integer") for index in column.index[fractional]]
        if not rule.nullable:
            found += [(index, "missing value in an int64 column") for index in column.index[column.isna()]]
    found.sort(key=lambda item: item[0])
    return [Violation(rule.name, message, row=int(index) + 1) for index, message in found[:ROW_DETAILS_PER_COLUMN]]


def _pandera_schema(rules: list[ColumnRule], *, strict: bool, known: list[str]) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    columns = {}
    for rule in rules:
        checks = []
        # With `outside: flag` values beyond the observed ones are expected (next year's data): served and flagged.
        enforce = rule.outside == "reject"
        if rule.minimum is not None and enforce:
            checks.append(pa.Check.ge(rule.minimum))
        if rule.maximum is not None and enforce:
            checks.append(pa.Check.le(rule.maximum))
        if not enforce and rule.dtype in ("int64", "float64"):
            # Without the range, infinity would pass: it is never data, flagged or not.
            checks.append(pa.Check.between(-math.inf, math.inf, include_min=False, include_max=False))
        if rule.allowed is not None and enforce:
            checks.append(pa.Check.isin(list(rule.allowed)))
        columns[rule.name] = pa.Column(None, checks=checks, nullable=rule.nullable, required=True)
    # Columns whose dtype already failed are left out of the checks but still count as known.
    columns.update({name: pa.Column(None, nullable=True) for name in known if name not in columns})
    return pa.DataFrameSchema(columns, strict=strict)


def _from_failure_cases(cases: pd.DataFrame, schema: Schema) -> list[Violation]:
    violations = []
    for case in cases.itertuples(index=False):
        check, value, column = str(case.check), case.failure_case, case.column
        if check == "column_in_schema":
            violations.append(Violation(str(value), "not in the schema (strict: true)"))
        elif check == "column_in_dataframe":
            violations.append(Violation(str(value), "missing: the schema requires this column"))
        else:
            row = None if case.index is None or _is_missing(case.index) else int(case.index) + 1
            violations.append(Violation(str(column), _describe(check, value, schema.column(str(column))), row=row))
    return violations


def _describe(check: str, value: Any, rule: ColumnRule | None) -> str:
    plain = value.item() if hasattr(value, "item") else value
    # pandera gathers the failing values of all columns in one column, which turns 2 into 2.0
    # when another column's failures are floats; an int64 column's values are shown as integers.
    if rule is not None and rule.dtype == "int64" and isinstance(plain, float) and plain.is_integer():
        value = int(plain)
    shown = _show(value)
    if check == "not_nullable":
        return "missing value where the schema does not allow one"
    if rule is not None and check.startswith("greater_than_or_equal_to("):
        return f"{shown} is below the minimum {rule.minimum!r}"
    if rule is not None and check.startswith("less_than_or_equal_to("):
        return f"{shown} is above the maximum {rule.maximum!r}"
    if rule is not None and rule.allowed is not None and check.startswith("isin("):
        return f"{shown} is not an allowed value ({', '.join(map(repr, rule.allowed))})"
    if check.startswith("in_range("):
        return f"{shown} is not a finite number"
    return f"{shown} fails {check}"


def _show(value: Any) -> str:
    # numpy scalars repr as np.float64(2.5); users want 2.5.
    return repr(value.item() if hasattr(value, "item") else value)


def _is_missing(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


@dataclass(frozen=True)
class FileCheck:
    """What checking one data file found."""

    rows: int
    columns: int
    violations: list[Violation]


def validate_file(path: str, schema: Schema) -> FileCheck:
    """Read and check one data file. A CSV file that pyarrow reads and `table_passes` proves valid is
    done in one fast pass; anything else gets the full pandas and pandera check and its messages."""
    from lockship.core.data.arrowcheck import read_csv_arrow, table_passes
    from lockship.core.data.tabular import read_table

    if path.lower().endswith(".csv"):
        table = read_csv_arrow(path)
        if table is not None and table_passes(table, schema):
            return FileCheck(rows=table.num_rows, columns=table.num_columns, violations=[])
    frame = read_table(path)
    return FileCheck(rows=len(frame), columns=frame.shape[1], violations=validate_frame(frame, schema))
