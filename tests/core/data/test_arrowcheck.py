from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.data.arrowcheck import PANDAS_NA_VALUES, read_csv_arrow, table_passes
from lockship.core.data.schema import ColumnRule, Schema
from lockship.core.data.tabular import read_table
from lockship.core.data.validation import validate_frame


def test_na_values_match_pandas() -> None:
    from pandas._libs.parsers import STR_NA_VALUES

    assert set(PANDAS_NA_VALUES) == set(STR_NA_VALUES)


TRICKY_CELLS = [
    "1", "1.5", "-2", "+3", "1e3", " 4", "5 ", "", "NA", "None", "<NA>", "nan", "NaN", "NAN", "inf", "-inf",
    "Infinity", "True", "false", "TRUE", "1.0", "0x10", "1_000", "abc", '"7"', '"a,b"', "2020-01-01", "\uff11", "0X1f",
    "9223372036854775808", "-9223372036854775809", ".5", "5.", "\t5",
]  # fmt: skip


@pytest.mark.parametrize("dtype", ["int64", "float64", "bool", "str"])
def test_the_fast_path_never_passes_a_file_the_full_check_fails(tmp_path: Path, dtype: str) -> None:
    # Tricky cells, alone and beside plain ones, in a column of each dtype: whenever pyarrow's fast verdict says
    # "valid", pandas and pandera must agree; the fast path is only a shortcut, never a second opinion.
    schema = Schema(columns=(ColumnRule("x", dtype, nullable=False), ColumnRule("y", "int64")), min_rows=1)
    nullable = Schema(columns=(ColumnRule("x", dtype, nullable=True), ColumnRule("y", "int64")), min_rows=1)
    passed = 0
    for first in TRICKY_CELLS:
        for second in dict.fromkeys([first, "1", "1.5", "True", "abc", ""]):
            path = tmp_path / "t.csv"
            path.write_text(f"x,y\n{first},1\n{second},2\n", encoding="utf-8")
            table = read_csv_arrow(path)
            for rules in (schema, nullable):
                if table is not None and table_passes(table, rules):
                    passed += 1
                    assert validate_frame(read_table(path), rules) == [], (first, second, rules)
    assert passed > 0
