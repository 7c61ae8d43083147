"""The parameters of a scaled logistic regression, served with numpy alone.

For the pipeline `train` fits by default (impute, scale, logistic regression), scikit-learn spends
about 2 ms per call on a one-row DataFrame (ColumnTransformer indexing and input checks) while the
arithmetic takes microseconds, and importing it (through skops) takes over a second of every start.
At packaging the fitted parameters are read from the pipeline into `linear.json`, checked against
the pipeline's own predictions, and recorded by sha256 in package.json; the server then predicts
with this arithmetic and never imports scikit-learn.

linear.json holds `classes`, `positions` (the model's columns as indices into the features),
`fill` (the imputer's values), `mean` and `scale` (the scaler's), `coef` (one row per column, one
column per decision function: one for two classes, one per class otherwise) and `intercept`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lockship.core.data.schema import Scalar, Schema
from lockship.core.errors import LockshipError
from lockship.core.jsonfields import Fields, read_json

Matrix = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]
LINEAR_FORMAT = 1
# Up to this many rows the products are summed by np.add.accumulate (about 0.3 us a row), beyond it by a
# loop over the columns (about 70 us whatever the rows).
FEW_ROWS = 128


@dataclass(frozen=True)
class LinearModel:
    classes: tuple[Scalar, ...]
    positions: Indices
    fill: Matrix
    mean: Matrix
    scale: Matrix
    coef: Matrix
    intercept: Matrix

    def __call__(self, matrix: Matrix) -> tuple[Indices, Matrix]:
        """Class indices and probabilities, as the pipeline's `predict` and `predict_proba` give them."""
        x = matrix[:, self.positions]
        missing = np.isnan(x)
        if missing.any():
            x = np.where(missing, self.fill, x)
        decision = _fixed_order_product((x - self.mean) / self.scale, self.coef, self.intercept)
        if self.coef.shape[1] == 1:
            scores = decision[:, 0]
            # The logistic function written so that exp never overflows (scipy's expit, without importing scipy).
            small = np.exp(-np.abs(scores))
            positive = np.where(scores >= 0, 1 / (1 + small), small / (1 + small))
            return (scores > 0).astype(np.intp), np.stack([1 - positive, positive], axis=1)
        shifted = np.exp(decision - decision.max(axis=1, keepdims=True))
        return decision.argmax(axis=1).astype(np.intp), shifted / shifted.sum(axis=1, keepdims=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": LINEAR_FORMAT,
            "classes": list(self.classes),
            "positions": self.positions.tolist(),
            "fill": self.fill.tolist(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }


def _fixed_order_product(scaled: Matrix, coef: Matrix, intercept: Matrix) -> Matrix:
    """`scaled @ coef + intercept`, summed over the columns left to right, then the intercept.

    A matrix product leaves the summation order to BLAS, which picks it by CPU and by shape (one row
    goes through gemv, a batch through gemm), so a row's answer would change with the batch it came in
    and with the machine. Elementwise multiply and add round the same way everywhere. Both branches
    add in that one order; accumulate is the cheaper one for a few rows, the column loop for many.
    """
    if scaled.shape[0] <= FEW_ROWS:
        products = coef[:, np.newaxis, :] * scaled.T[:, :, np.newaxis]
        total: Matrix = np.add.accumulate(products, axis=0)[-1]
    else:
        total = scaled[:, 0, np.newaxis] * coef[0]
        for column in range(1, coef.shape[0]):
            total += scaled[:, column, np.newaxis] * coef[column]
    return total + intercept


def numeric_inputs(schema: Schema, features: Sequence[str]) -> bool:
    """Whether every feature arrives as a plain number: what the fast path and the vectorised decoder take."""
    rules = [schema.column(name) for name in features]
    return all(rule is not None and rule.dtype in ("int64", "float64") and rule.allowed is None for rule in rules)


def extract(model: Any, features: Sequence[str]) -> LinearModel | None:
    """The parameters of Pipeline(ColumnTransformer(impute, scale), LogisticRegression); None for any other model."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    prep, estimator = model.steps[0][1], model.steps[1][1]
    if type(prep) is not ColumnTransformer or type(estimator) is not LogisticRegression:
        return None
    positions: list[int] = []
    fills, means, scales = [], [], []
    for _, transformer, columns in prep.transformers_:
        if len(columns) == 0 or (isinstance(transformer, str) and transformer == "drop"):
            continue
        steps = transformer.steps if isinstance(transformer, Pipeline) else []
        if [type(step) for _, step in steps] != [SimpleImputer, StandardScaler]:
            return None
        imputer, scaler = steps[0][1], steps[1][1]
        if imputer.add_indicator or not (
            isinstance(imputer.missing_values, float) and math.isnan(imputer.missing_values)
        ):
            return None
        if any(not isinstance(column, str) or column not in features for column in columns):
            return None
        count = len(columns)
        positions += [list(features).index(column) for column in columns]
        fills.append(np.asarray(imputer.statistics_, dtype=np.float64))
        means.append(np.zeros(count) if scaler.mean_ is None else np.asarray(scaler.mean_, dtype=np.float64))
        scales.append(np.ones(count) if scaler.scale_ is None else np.asarray(scaler.scale_, dtype=np.float64))
    if not positions:
        return None
    return LinearModel(
        classes=tuple(c.item() if hasattr(c, "item") else c for c in estimator.classes_),
        positions=np.asarray(positions, dtype=np.intp),
        fill=np.concatenate(fills),
        mean=np.concatenate(means),
        scale=np.concatenate(scales),
        coef=np.asarray(estimator.coef_, dtype=np.float64).T.copy(),
        intercept=np.asarray(estimator.intercept_, dtype=np.float64),
    )


def read_linear(path: str | os.PathLike[str], *, features: int) -> LinearModel:
    """Read linear.json for a model of `features` inputs; every inconsistency is a `path:line` problem."""
    fields = Fields(read_json(path))
    if not isinstance(fields.document.data, dict):
        raise LockshipError(f"{fields.document.where(())}: expected a JSON object (the linear fast path)")
    version = fields.get(("format",), int, "an integer")
    if version is not None and version != LINEAR_FORMAT:
        fields.problem(("format",), f"unsupported format {version}, this lockship reads {LINEAR_FORMAT}")
    classes = fields.get(("classes",), list, "a list of classes")
    positions = array_field(fields, "positions", np.intp)
    if positions is not None and (len(set(positions.tolist())) != len(positions) or not positions.size):
        fields.problem(("positions",), "expected distinct feature indices")
        positions = None
    elif positions is not None and not all(0 <= p < features for p in positions.tolist()):
        fields.problem(("positions",), f"expected indices below the model's {features} features")
        positions = None
    # Without valid positions the other lengths cannot be judged: report the positions alone.
    columns = None if positions is None else len(positions)
    fill, mean, scale = (array_field(fields, key, np.float64, (columns,)) for key in ("fill", "mean", "scale"))
    if scale is not None and not np.all(scale):
        fields.problem(("scale",), "a scale of 0")
    outputs = None if classes is None else (1 if len(classes) == 2 else len(classes))
    coef = array_field(fields, "coef", np.float64, (columns, outputs))
    intercept = array_field(fields, "intercept", np.float64, (outputs,))
    fields.check()
    return LinearModel(tuple(classes), positions, fill, mean, scale, coef, intercept)


def array_field(fields: Fields, key: str, dtype: type, shape: tuple[int | None, ...] | None = None) -> Any:
    """The list at `key` as a finite numpy array of `shape` (None: any length), or None and a problem."""
    value = fields.get((key,), list, "a list of numbers")
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fields.problem((key,), "expected numbers only, in a rectangular list")
        return None
    expected = (len(value),) if shape is None else shape
    if array.ndim != len(expected) or any(
        want is not None and want != got for want, got in zip(expected, array.shape, strict=True)
    ):
        fields.problem((key,), f"expected shape {list(expected)}, got {list(array.shape)}")
        return None
    if not np.all(np.isfinite(array)) or (dtype is np.intp and not np.all(array == np.round(array))):
        fields.problem((key,), "expected finite numbers" if dtype is np.float64 else "expected integers")
        return None
    return array.astype(dtype)
