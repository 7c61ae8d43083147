"""A fast path for data checks: pyarrow reads a CSV and proves it valid without pandas.

Only a shortcut: `table_passes` answers True when `lockship.core.data.validation.validate_frame` would
find nothing wrong in the same file read by pandas, and False when it is not sure. Any file that is
not proven valid goes through the full check, which finds and words the violations.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

from lockship.core.data.schema import ColumnRule, Schema

if TYPE_CHECKING:
    import pyarrow

# pandas' default missing-value strings (pandas._libs.parsers.STR_NA_VALUES), so that pyarrow reads
# the same cells as missing without importing pandas; tests/hooks/test_check_data.py keeps them equal.
PANDAS_NA_VALUES = (
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
    *("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
)


def read_csv_arrow(path: str | os.PathLike[str]) -> pyarrow.Table | None:
    """A CSV file read by pyarrow with pandas' missing values and booleans, or None when pyarrow
    cannot read it; `read_table` then decides (and names the line of any problem).

    Cells that pyarrow does not parse the way pandas would (dates, NaN spellings, ...) show up as
    other column types; callers must treat anything unexpected as "ask `read_table`". Hexadecimal
    cells do not: pyarrow reads `0x10` as 16, pandas as text, so a file holding `0x` gives None.
    """
    import mmap

    import pyarrow
    import pyarrow.csv as csv

    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            body = data.find(b"\n") + 1
            # Looking for a lone byte is a memchr; numeric data rarely holds an x at all.
            if any(data.find(x, body) >= 0 and data.find(b"0" + x, body) >= 0 for x in (b"x", b"X")):
                return None
    except (OSError, ValueError):  # missing, unreadable or empty (mmap refuses 0 bytes)
        return None

    convert = csv.ConvertOptions(
        null_values=list(PANDAS_NA_VALUES),
        strings_can_be_null=True,
        true_values=["True", "TRUE", "true"],
        false_values=["False", "FALSE", "false"],
    )
    try:
        return csv.read_csv(path, convert_options=convert)
    except (pyarrow.ArrowInvalid, OSError, UnicodeDecodeError):
        return None


# A cell pandas might read as a number or a boolean; a string column holding any other cell stays text.
_MAYBE_NOT_TEXT = r"(?i)^\s*[+-]?(?:[0-9.e+\-]*|inf|infinity|nan|true|false)\s*$"


def table_passes(table: pyarrow.Table, schema: Schema) -> bool:
    """True only when `validate_frame` would find nothing wrong in the same file read by pandas.

    A conservative verdict on a table from `read_csv_arrow`: False means "not sure", never "invalid".
    """
    names = table.column_names
    known = {rule.name for rule in schema.columns}
    if (
        len(names) < 2  # pandas and pyarrow differ on blank lines of one-column files
        or len(set(names)) != len(names)
        or any(not name or name.startswith("Unnamed: ") for name in names)
        or table.num_rows < max(schema.min_rows, 1)
        or not known <= set(names)
        or (schema.strict and set(names) - known)
    ):
        return False
    return all(_column_passes(table.column(rule.name), rule) for rule in schema.columns)


def _column_passes(column: pyarrow.ChunkedArray, rule: ColumnRule) -> bool:
    import pyarrow
    import pyarrow.compute as pc

    kind, nulls = column.type, column.null_count
    if nulls and (not rule.nullable or rule.dtype in ("int64", "bool")):
        return False  # pandas reads such columns as float or object: let it say what it makes of them
    allowed = list(rule.allowed) if rule.allowed is not None else None
    numeric = rule.dtype in ("int64", "float64")
    if rule.dtype == "int64":
        fits = pyarrow.types.is_int64(kind) and all(type(value) is int for value in allowed or [])
    elif rule.dtype == "float64":
        fits = pyarrow.types.is_int64(kind) or pyarrow.types.is_float64(kind)
        fits = fits and all(type(value) in (int, float) for value in allowed or [])
        # NaN or infinity spelt in ways pandas may not parse make the sum NaN or infinite.
        fits = fits and (pyarrow.types.is_int64(kind) or math.isfinite(pc.sum(column).as_py() or 0.0))
    elif rule.dtype == "bool":
        fits = pyarrow.types.is_boolean(kind) and all(type(value) is bool for value in allowed or [])
    else:
        fits = pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind)
        fits = fits and all(type(value) is str for value in allowed or [])
        # pandas keeps a column as text only when some cell is neither a number nor a boolean.
        fits = fits and not pc.all(pc.match_substring_regex(column, _MAYBE_NOT_TEXT)).as_py()
    if not fits:
        return False
    low = high = None
    if numeric:
        bounds = pc.min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is not None and high is not None:
            # Integers beyond int64 read as doubles here but as uint64 or objects in pandas.
            if pyarrow.types.is_float64(kind) and max(abs(low), abs(high)) >= 2.0**63:
                return False
            if (rule.minimum is not None and low < rule.minimum) or (rule.maximum is not None and high > rule.maximum):
                return False
    if allowed is None:
        return True
    # Every whole number between the extremes allowed (as for a 0/1 label): no need to look at each.
    if (
        isinstance(low, int)
        and isinstance(high, int)
        and high - low < 1024
        and set(range(low, high + 1)) <= set(allowed)
    ):
        return True
    if rule.dtype == "float64":
        column, allowed = pc.cast(column, pyarrow.float64()), [float(value) for value in allowed]
    matched = pc.sum(pc.is_in(column, value_set=pyarrow.array(allowed, type=column.type))).as_py() or 0
    return bool(matched == len(column) - nulls)
