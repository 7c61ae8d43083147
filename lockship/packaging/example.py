"""The smoke-test example row a model directory records: chosen by a rule, so row order never fails packaging."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lockship.core.errors import LockshipError
from lockship.core.yamlio import read_text


def example_row(path: Path, metadata: Path, *, row: int | None = None) -> dict[str, Any]:
    """The smoke-test input: the model's features of one row of a data file, as JSON scalars (null if missing).

    Data row `row` (from 1) when given; else the first row with a value in every feature; else, for
    sparse data, the row with the fewest missing values (the first of those), which the model's
    imputers fill in. So no order of the rows can make packaging fail.
    """
    from lockship.core.data.tabular import read_table

    try:
        info = json.loads(read_text(metadata))
    except ValueError as error:
        raise LockshipError(f"{metadata}: invalid JSON: {error}") from error
    try:
        features = [str(feature["name"]) for feature in info["features"]]
    except (KeyError, TypeError) as error:
        raise LockshipError(f"{metadata}: not a lockship model metadata file ({error})") from error
    frame = read_table(path)
    missing = [name for name in features if name not in frame.columns]
    if missing or frame.empty:
        raise LockshipError(f"{path}: no row with the model's features ({', '.join(missing) or 'no data rows'})")
    if row is not None and not 1 <= row <= len(frame):
        raise LockshipError(f"{path}: package.example: no data row {row} (the file has {len(frame)})")
    if row is None:
        gaps = frame[features].isna().sum(axis=1).to_numpy()
        row = int(gaps.argmin()) + 1  # argmin takes the first of the fewest: the first complete row if any
    chosen = frame.iloc[row - 1]
    values = {name: chosen[name].item() if hasattr(chosen[name], "item") else chosen[name] for name in features}
    return {name: None if _missing(value) else value for name, value in values.items()}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))
