"""Which columns of a table become features: keep/drop by name or pattern, dates into numbers, and the
columns schema inference proposes to drop (identifiers, free text, constants).

The rules, in order (prepare applies them, and `lockship schema infer --params` infers from their result):

1. `keep` (names or glob patterns, `*` `?` `[...]`): when not empty, only matching columns stay; then
   `drop` removes matching ones. The target always stays. A pattern that matches no column is an error
   (a typo would otherwise keep a column silently).
2. A date column is a text column whose every value is an ISO 8601 date or date-time (`2024-03-01`,
   `2024-03-01 14:30`, `2024-03-01T14:30:00`). With `dates: expand` (the default) it is replaced, in
   place, by numeric columns `<name>_year`, `<name>_month`, `<name>_day`, `<name>_weekday` (Monday 0),
   plus `<name>_hour` when any value has a time; a missing date gives missing numbers. `dates: drop`
   drops date columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from lockship.core.errors import LockshipError
from lockship.core.params import Section

if TYPE_CHECKING:
    import pandas as pd

DATE_MODES = ("expand", "drop")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T](\d{2}):\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
DATE_PARTS = ("year", "month", "day", "weekday")
# Proposals: a text column whose values average this many words or characters reads as free text.
FREE_TEXT_WORDS = 3
FREE_TEXT_CHARS = 40
# An all-distinct column is only called an identifier with at least this many rows.
MIN_ID_ROWS = 10


@dataclass(frozen=True)
class FeatureRules:
    keep: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    dates: str = "expand"


def read_rules(prepare: Section) -> FeatureRules:
    """`prepare.columns.keep`/`.drop` (optional lists of names or glob patterns) and `prepare.dates`."""
    found: dict[str, tuple[str, ...]] = {}
    if "columns" in prepare.values:
        columns = prepare.section("columns")
        for key in ("keep", "drop"):
            values = columns.get(key, list, []) or []
            for index, value in enumerate(values):
                if not isinstance(value, str) or not value:
                    columns.problem(key, f"item {index}: expected a column name or glob pattern, got {value!r}")
            found[key] = tuple(str(value) for value in values)
    return FeatureRules(**found, dates=prepare.get("dates", str, "expand", choices=DATE_MODES))


def select_columns(frame: pd.DataFrame, rules: FeatureRules, *, target: str, where: str) -> pd.DataFrame:
    """`frame` with only the columns `rules` keep (the target always), in their order."""
    names = [str(name) for name in frame.columns]
    unmatched = [
        f"{where}: prepare.columns.{key}: '{pattern}' matches no column"
        for key, patterns in (("keep", rules.keep), ("drop", rules.drop))
        for pattern in patterns
        if not any(fnmatchcase(name, pattern) for name in names)
    ]
    if unmatched:
        raise LockshipError(*unmatched)
    kept = [name for name in names if not rules.keep or any(fnmatchcase(name, p) for p in rules.keep)]
    kept = [name for name in kept if not any(fnmatchcase(name, p) for p in rules.drop)]
    return frame[[name for name in names if name == target or name in kept]]


def date_columns(frame: pd.DataFrame) -> list[str]:
    """The text columns whose every (non-missing, at least one) value is an ISO 8601 date or date-time."""
    found = []
    for name in frame.columns:
        values = frame[name].dropna()
        if _is_text(frame[name]) and len(values) and all(_ISO_DATE.match(value) for value in values):
            found.append(str(name))
    return found


def _is_text(column: pd.Series) -> bool:
    """Strings (pandas' `str` or `object` dtype), every value a string."""
    import pandas as pd

    kind = column.dtype
    textual = pd.api.types.is_string_dtype(kind) or pd.api.types.is_object_dtype(kind)
    return bool(textual) and all(isinstance(value, str) for value in column.dropna())


def apply_dates(frame: pd.DataFrame, mode: str, *, target: str) -> pd.DataFrame:
    """Expand (or drop) the date columns, as the module docstring says."""
    import pandas as pd

    dates = [name for name in date_columns(frame) if name != target]
    if not dates:
        return frame
    if mode == "drop":
        return frame.drop(columns=dates)
    parts: dict[str, pd.Series] = {}
    for name in frame.columns:
        if name not in dates:
            parts[str(name)] = frame[name]
            continue
        text = frame[name]
        parsed = pd.to_datetime(text, format="ISO8601")
        values = {
            "year": parsed.dt.year,
            "month": parsed.dt.month,
            "day": parsed.dt.day,
            "weekday": parsed.dt.day_of_week,
        }
        if any(match.group(1) for match in map(_ISO_DATE.match, text.dropna()) if match):
            values["hour"] = parsed.dt.hour
        for part, series in values.items():
            parts[f"{name}_{part}"] = series.astype("float64")
    return pd.DataFrame(parts)


def apply_rules(frame: pd.DataFrame, rules: FeatureRules, *, target: str, where: str) -> pd.DataFrame:
    """Select the columns, then turn dates into numbers: the table the model is trained on."""
    return apply_dates(select_columns(frame, rules, target=target, where=where), rules.dates, target=target)


def proposed_drops(frame: pd.DataFrame, *, target: str | None) -> dict[str, str]:
    """Columns that rarely make good features, each with the reason: identifiers, free text, constants."""
    import pandas as pd

    proposals: dict[str, str] = {}
    dates = set(date_columns(frame))
    for name in frame.columns:
        column, key = frame[name], str(name)
        values = column.dropna()
        if key == target:
            continue
        if values.nunique() <= 1:
            proposals[key] = "constant: a single value" if len(values) else "empty: no values"
            continue
        text = _is_text(column)
        if text and key not in dates:
            words = values.str.split().str.len().mean()
            if words >= FREE_TEXT_WORDS or values.str.len().mean() >= FREE_TEXT_CHARS:
                proposals[key] = f"free text: {words:.1f} words a value on average"
                continue
        distinct = values.nunique() == len(column) >= MIN_ID_ROWS
        if distinct and (text or pd.api.types.is_integer_dtype(column.dtype)) and key not in dates:
            proposals[key] = "identifier-like: every row has a different value"
    return proposals
