from __future__ import annotations

import numpy as np
import pandas as pd

from lockship.core.data.schema import ColumnRule, Schema
from lockship.core.data.validation import Violation, format_violations, total_rows_problem, validate_frame

SCHEMA = Schema(
    columns=(
        ColumnRule("x", "float64", minimum=0.0, maximum=10.0),
        ColumnRule("n", "int64", nullable=True),
        ColumnRule("flag", "bool"),
        ColumnRule("label", "str", allowed=("a", "b")),
    ),
    min_rows=2,
)


def frame(**overrides: list[object]) -> pd.DataFrame:
    columns: dict[str, list[object]] = {"x": [1.0, 2.0], "n": [1, 2], "flag": [True, False], "label": ["a", "b"]}
    return pd.DataFrame(columns | overrides)


def lines(data: pd.DataFrame, schema: Schema = SCHEMA) -> list[str]:
    return [v.line("f.csv") for v in validate_frame(data, schema)]


def test_valid_data_has_no_violations() -> None:
    assert lines(frame()) == []


def test_whole_number_floats_and_nullable_integers_are_accepted() -> None:
    assert lines(frame(x=[1, 2])) == []
    assert lines(frame(n=[1.0, np.nan])) == []


def test_violations_come_file_level_first_then_by_row_and_schema_order() -> None:
    data = frame(x=[-1.0, np.inf], label=["c", "a"], n=[1.5, 2.0]).drop(columns=["flag"]).assign(extra=[0, 0])
    assert lines(data) == [
        "f.csv: column 'extra': not in the schema (strict: true)",
        "f.csv: column 'n': dtype is float64, expected int64",
        "f.csv: column 'flag': missing: the schema requires this column",
        "f.csv: row 1, column 'x': -1.0 is below the minimum 0.0",
        "f.csv: row 1, column 'n': 1.5 is not an integer",
        "f.csv: row 1, column 'label': 'c' is not an allowed value ('a', 'b')",
        "f.csv: row 2, column 'x': inf is above the maximum 10.0",
    ]


def test_non_strict_schemas_allow_extra_columns() -> None:
    relaxed = Schema(columns=SCHEMA.columns, min_rows=2, strict=False)
    assert lines(frame().assign(extra=[1, 2]), relaxed) == []


def test_too_few_rows_and_header_only() -> None:
    assert lines(frame().iloc[:1]) == ["f.csv: 1 data row(s), the schema requires at least 2"]
    empty = pd.DataFrame({name: pd.Series(dtype=object) for name in ("x", "n", "flag", "label")})
    assert lines(empty) == ["f.csv: 0 data row(s), the schema requires at least 2"]


def test_bad_values_in_a_numeric_column_are_located() -> None:
    data = frame(x=["1.5", "abc"])
    assert lines(data) == [
        "f.csv: column 'x': dtype is str, expected float64",
        "f.csv: row 2, column 'x': 'abc' is not a number",
    ]


def test_format_caps_and_counts() -> None:
    violations = [Violation("x", f"bad {i}", row=i) for i in range(1, 6)]
    assert format_violations("f.csv", violations, 2) == [
        "f.csv: row 1, column 'x': bad 1",
        "f.csv: row 2, column 'x': bad 2",
        "f.csv: 3 more violation(s) not shown",
    ]
    assert Violation(None, "whole file").line("f.csv") == "f.csv: whole file"


def test_flagged_columns_pass_values_outside_what_was_observed() -> None:
    flagged = Schema(
        columns=tuple(
            ColumnRule(r.name, r.dtype, r.nullable, r.minimum, r.maximum, r.allowed, outside="flag")
            if r.name in ("x", "label")
            else r
            for r in SCHEMA.columns
        ),
        min_rows=2,
    )
    assert lines(frame(x=[-1.0, 11.0], label=["a", "c"]), flagged) == []
    assert lines(frame(x=[np.inf, 1.0]), flagged) == ["f.csv: row 1, column 'x': inf is not a finite number"]


def test_min_rows_of_all_files_counts_them_together() -> None:
    together = Schema(columns=SCHEMA.columns, min_rows=100, min_rows_counts="all_files")
    assert lines(frame(), together) == []  # a 2-row file is fine on its own
    assert (
        total_rows_problem(99, 2, together)
        == "99 data row(s) in the 2 file(s) together, the schema requires at least 100"
    )
    assert total_rows_problem(100, 2, together) is None
    assert total_rows_problem(5, 1, SCHEMA) is None  # each_file: checked per file by validate_frame
