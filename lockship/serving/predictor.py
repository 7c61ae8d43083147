"""Predictions from the packaged model: the linear fast path when packaging verified one, else the pipeline.

The fast path is written at packaging only after it matched the real pipeline's `predict` and
`predict_proba` on the example row and on rows spread across every feature's range. Every start
runs a smoke prediction on the example row through whichever path serves and compares it with what
the pipeline predicted at packaging, so a server answers exactly as the packaged model did or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lockship.core.data.schema import Scalar, Schema
from lockship.core.errors import LockshipError
from lockship.core.model.directory import ModelDir
from lockship.serving.linear import LinearModel, Matrix, extract

CHECK_ROWS = 256
RTOL = 1e-9
ATOL = 1e-12


@dataclass(frozen=True)
class Prediction:
    """Class indices (into `classes`) and the probability of every class, one row per input row."""

    indices: npt.NDArray[np.intp]
    probabilities: Matrix


class Predictor:
    """Predicts from a float matrix whose columns are the model's features in training order.

    Exactly one of `model` (a fitted scikit-learn pipeline) and `fast` is given.
    """

    def __init__(
        self, classes: Sequence[Scalar], features: Sequence[str], *, model: Any = None, fast: LinearModel | None = None
    ) -> None:
        self.classes = list(classes)
        self.features = list(features)
        self.model = model
        self.fast = fast
        self._positions = {c: i for i, c in enumerate(self.classes)}

    @property
    def path(self) -> str:
        return "linear fast path" if self.fast is not None else "scikit-learn pipeline"

    def predict(self, matrix: Matrix) -> Prediction:
        if self.fast is not None:
            return Prediction(*self.fast(matrix))
        import pandas as pd

        return self.predict_frame(pd.DataFrame(matrix, columns=self.features))

    def predict_frame(self, frame: Any) -> Prediction:
        """Any column types: through the pipeline, or (fast path) as the float matrix it must be."""
        if self.fast is not None:
            return self.predict(frame[self.features].to_numpy(dtype=np.float64))
        labels = self.model.predict(frame)
        indices = np.fromiter((self._positions[label] for label in labels), dtype=np.intp, count=len(labels))
        return Prediction(indices, np.asarray(self.model.predict_proba(frame), dtype=np.float64))


def pipeline_predictor(model: Any, features: Sequence[str], classes: Sequence[Scalar], *, where: str) -> Predictor:
    """A Predictor through a loaded pipeline, refused unless its features and classes are the metadata's."""
    if list(getattr(model, "feature_names_in_", features)) != list(features):
        raise LockshipError(f"{where}: the model's features differ from its metadata's")
    if [c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", ())] != list(classes):
        raise LockshipError(f"{where}: the model's classes differ from its metadata's")
    return Predictor(classes, features, model=model)


def check_rows(
    features: Sequence[str], schema: Schema, profile: Mapping[str, Any], example: Mapping[str, Any]
) -> Matrix:
    """The example row plus rows spread over each feature's declared (or profiled) range, seeded."""
    generator = np.random.default_rng(0)
    columns = []
    for name in features:
        rule = schema.column(name)
        profiled: Mapping[str, Any] = profile.get("features", {}).get(name, {})
        low = rule.minimum if rule is not None and rule.minimum is not None else profiled.get("min")
        high = rule.maximum if rule is not None and rule.maximum is not None else profiled.get("max")
        low, high = (float(low) if low is not None else -1e3), (float(high) if high is not None else 1e3)
        columns.append(np.concatenate([[low, high], generator.uniform(low, high, CHECK_ROWS - 2)]))
    spread = np.stack(columns, axis=1)
    return np.concatenate([np.asarray([[_number(example[name]) for name in features]]), spread])


def verified_fast_path(pipeline: Predictor, rows: Matrix) -> LinearModel | None:
    """The pipeline's linear fast path if it reproduces the pipeline on `rows`, else None (serve the pipeline)."""
    fast = extract(pipeline.model, pipeline.features)
    if fast is None:
        return None
    expected = pipeline.predict(rows)
    indices, probabilities = fast(rows)
    same = np.array_equal(indices, expected.indices) and np.allclose(
        probabilities, expected.probabilities, rtol=RTOL, atol=ATOL
    )
    return fast if same else None


def _number(value: Any) -> float:
    """An example value as a float; a missing one (packaged from sparse data) as NaN, which the imputer fills."""
    return float("nan") if value is None else float(value)


def smoke_test(predictor: Predictor, model_dir: ModelDir) -> None:
    """Predict the stored example row; an error, or an answer unlike the one recorded at packaging, stops the start."""
    example = model_dir.package.example
    try:
        if predictor.fast is not None:  # without pandas, whose import would cost the fast path's start a third
            prediction = predictor.predict(np.asarray([[_number(example[name]) for name in predictor.features]]))
        else:
            from lockship.serving.frames import input_frame

            frame = input_frame([[example[name] for name in predictor.features]], predictor.features, model_dir.schema)
            prediction = predictor.predict_frame(frame)
    except Exception as error:  # the model's own failure, whatever it is, must stop the start-up
        raise LockshipError(f"{model_dir.path}: smoke prediction on the example row failed: {error}") from error
    recorded = np.asarray(model_dir.package.example_probabilities, dtype=np.float64)
    answered = prediction.probabilities.reshape(-1)
    if answered.shape != recorded.shape or not np.allclose(answered, recorded, rtol=RTOL, atol=ATOL):
        raise LockshipError(
            f"{model_dir.path}: smoke prediction on the example row gave probabilities {answered.tolist()}, "
            f"but packaging recorded {recorded.tolist()}: the model does not answer as it did when packaged"
        )
