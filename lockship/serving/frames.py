"""Rows of JSON values to the DataFrame a fitted pipeline takes, with missing values as it saw them in training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lockship.core.data.schema import Schema

NUMERIC = ("int64", "float64")


def input_frame(rows: Sequence[Sequence[Any]], names: Sequence[str], schema: Schema) -> Any:
    """A DataFrame of `rows` (values in `names` order; None for missing).

    Numeric columns become float64 (a column of nulls alone would be `object`, which a median imputer
    refuses) and a missing string becomes NaN, as pandas reads an empty CSV cell in training: an
    imputer treats NaN as missing but None as one more category.
    """
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame([list(row) for row in rows], columns=list(names), dtype=object)
    for name in names:
        rule = schema.column(name)
        if rule is not None and rule.dtype in NUMERIC:
            frame[name] = frame[name].astype("float64")
        else:
            frame[name] = frame[name].where(frame[name].notna(), np.nan)
    return frame.infer_objects()
