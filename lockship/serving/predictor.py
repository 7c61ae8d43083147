"""Predictions from the loaded model, with a verified fast path for scaled linear models.

scikit-learn spends about 2 ms per call on a one-row DataFrame in the pipeline `train` builds
(ColumnTransformer indexing and input checks), while the arithmetic takes microseconds. For the
pipeline shape lockship trains by default (impute, scale, logistic regression) the predictor reads
the fitted parameters and does the same arithmetic in numpy. It is used only after it matched the
real pipeline's `predict` and `predict_proba` on the example row and on rows spread across every
feature's range; any other model, or any mismatch, serves through the pipeline itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lockship.core.errors import LockshipError
from lockship.core.modeldir import ModelDir

log = logging.getLogger("lockship.serve")

Matrix = npt.NDArray[np.float64]
Kernel = Callable[[Matrix], tuple[npt.NDArray[np.intp], Matrix]]
CHECK_ROWS = 256
RTOL = 1e-9
ATOL = 1e-12


@dataclass(frozen=True)
class Prediction:
    """Class indices (into `classes`) and the probability of every class, one row per input row."""

    indices: npt.NDArray[np.intp]
    probabilities: Matrix


class Predictor:
    """Predicts from a float matrix whose columns are the model's features in training order."""

    def __init__(self, model: Any, features: Sequence[str], *, fast: Kernel | None = None) -> None:
        self.model = model
        self.features = list(features)
        self.classes: list[Any] = [c.item() if hasattr(c, "item") else c for c in model.classes_]
        self._positions = {c: i for i, c in enumerate(model.classes_)}
        self.fast = fast

    @property
    def path(self) -> str:
        return "linear fast path" if self.fast is not None else "scikit-learn pipeline"

    def predict(self, matrix: Matrix) -> Prediction:
        if self.fast is not None:
            indices, probabilities = self.fast(matrix)
            return Prediction(indices, probabilities)
        return self.predict_frame(self.frame(matrix))

    def frame(self, matrix: Matrix) -> Any:
        import pandas as pd

        return pd.DataFrame(matrix, columns=self.features)

    def predict_frame(self, frame: Any) -> Prediction:
        """Through the real pipeline: any model, any column types."""
        labels = self.model.predict(frame)
        indices = np.fromiter((self._positions[label] for label in labels), dtype=np.intp, count=len(labels))
        return Prediction(indices, np.asarray(self.model.predict_proba(frame), dtype=np.float64))


def linear_kernel(model: Any, features: Sequence[str]) -> Kernel | None:
    """numpy arithmetic equal to Pipeline(ColumnTransformer(impute, scale), LogisticRegression); None otherwise."""
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
    fills: list[Any] = []
    means: list[Any] = []
    scales: list[Any] = []
    for _, transformer, columns in prep.transformers_:
        if len(columns) == 0 or (isinstance(transformer, str) and transformer == "drop"):
            continue
        if not isinstance(transformer, Pipeline) or [type(step) for _, step in transformer.steps] != [
            SimpleImputer,
            StandardScaler,
        ]:
            return None
        imputer, scaler = transformer.steps[0][1], transformer.steps[1][1]
        if imputer.add_indicator or not (
            isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values)
        ):
            return None
        if any(not isinstance(column, str) or column not in features for column in columns):
            return None
        count = len(columns)
        positions += [features.index(column) for column in columns]
        fills.append(np.asarray(imputer.statistics_, dtype=np.float64))
        means.append(np.zeros(count) if scaler.mean_ is None else np.asarray(scaler.mean_, dtype=np.float64))
        scales.append(np.ones(count) if scaler.scale_ is None else np.asarray(scaler.scale_, dtype=np.float64))
    if not positions:
        return None
    index = np.asarray(positions, dtype=np.intp)
    fill, mean, scale = np.concatenate(fills), np.concatenate(means), np.concatenate(scales)
    coef = np.asarray(estimator.coef_, dtype=np.float64).T.copy()
    intercept = np.asarray(estimator.intercept_, dtype=np.float64)
    binary = len(estimator.classes_) <= 2
    from scipy.special import expit

    def kernel(matrix: Matrix) -> tuple[npt.NDArray[np.intp], Matrix]:
        x = matrix[:, index]
        missing = np.isnan(x)
        if missing.any():
            x = np.where(missing, fill, x)
        x = (x - mean) / scale
        decision = x @ coef + intercept
        if binary:
            scores = decision[:, 0]
            positive = expit(scores)
            return (scores > 0).astype(np.intp), np.stack([1 - positive, positive], axis=1)
        shifted = np.exp(decision - decision.max(axis=1, keepdims=True))
        return decision.argmax(axis=1).astype(np.intp), shifted / shifted.sum(axis=1, keepdims=True)

    return kernel


def check_rows(model_dir: ModelDir, rows: int = CHECK_ROWS) -> Matrix:
    """The example row plus rows spread over each feature's declared (or profiled) range, seeded."""
    generator = np.random.default_rng(0)
    names = [feature.name for feature in model_dir.features]
    columns = []
    for name in names:
        rule = model_dir.schema.column(name)
        profiled: Mapping[str, Any] = model_dir.profile.get("features", {}).get(name, {})
        low = rule.minimum if rule is not None and rule.minimum is not None else profiled.get("min")
        high = rule.maximum if rule is not None and rule.maximum is not None else profiled.get("max")
        low, high = (float(low) if low is not None else -1e3), (float(high) if high is not None else 1e3)
        columns.append(np.concatenate([[low, high], generator.uniform(low, high, rows - 2)]))
    spread = np.stack(columns, axis=1)
    example = np.asarray([[float(model_dir.package.example[name]) for name in names]], dtype=np.float64)
    return np.concatenate([example, spread])


def build_predictor(model: Any, model_dir: ModelDir) -> Predictor:
    """The predictor for `model`, with the fast path only when it reproduces the pipeline on check rows."""
    names = [feature.name for feature in model_dir.features]
    slow = Predictor(model, names)
    numeric = all(feature.dtype.startswith(("float", "int")) for feature in model_dir.features)
    kernel = linear_kernel(model, names) if numeric else None
    if kernel is None:
        return slow
    rows = check_rows(model_dir)
    expected = slow.predict(rows)
    indices, probabilities = kernel(rows)
    if not (
        np.array_equal(indices, expected.indices)
        and np.allclose(probabilities, expected.probabilities, rtol=RTOL, atol=ATOL)
    ):
        log.warning("linear fast path disagrees with the pipeline on the check rows; serving through the pipeline")
        return slow
    return Predictor(model, names, fast=kernel)


def smoke_test(predictor: Predictor, model_dir: ModelDir) -> None:
    """Predict the stored example row through the real pipeline; any failure means the model cannot serve."""
    example = {name: [value] for name, value in model_dir.package.example.items()}
    import pandas as pd

    try:
        prediction = predictor.predict_frame(pd.DataFrame(example, columns=predictor.features))
    except Exception as error:  # the model's own failure, whatever it is, must stop the start-up
        raise LockshipError(f"{model_dir.path}: smoke prediction on the example row failed: {error}") from error
    if prediction.probabilities.shape != (1, len(predictor.classes)):
        raise LockshipError(f"{model_dir.path}: smoke prediction returned {prediction.probabilities.shape} values")
