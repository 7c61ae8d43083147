"""Predictions from the packaged model: a fast path (linear or trees) when packaging verified one, else the pipeline.

The fast path is written at packaging only after it matched the real pipeline's `predict` and
`predict_proba` on the example row and on rows spread across every feature's range. Every start
runs a smoke prediction on the example row through whichever path serves and compares it with what
the pipeline predicted at packaging, so a server answers exactly as the packaged model did or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lockship.core.data.schema import Scalar, Schema
from lockship.core.errors import LockshipError
from lockship.core.model.directory import ModelDir
from lockship.serving.linear import LinearModel, Matrix, extract
from lockship.serving.trees import TreeEnsemble

FastPath = LinearModel | TreeEnsemble
Extractor = Callable[[Any, Sequence[str]], FastPath | None]

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

    Exactly one of `model` (a fitted scikit-learn pipeline) and `fast` is given. `by_argmax`: the
    pipeline's `predict` is the argmax of its `predict_proba` (a forest's is, by definition), so one call
    of the model gives both.
    """

    def __init__(
        self,
        classes: Sequence[Scalar],
        features: Sequence[str],
        *,
        model: Any = None,
        fast: FastPath | None = None,
        by_argmax: bool = False,
    ) -> None:
        self.classes = list(classes)
        self.features = list(features)
        self.model = model
        self.fast = fast
        self.by_argmax = by_argmax
        self._positions = {c: i for i, c in enumerate(self.classes)}

    @property
    def path(self) -> str:
        if isinstance(self.fast, TreeEnsemble):
            return "tree fast path"
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
        probabilities = np.asarray(self.model.predict_proba(frame), dtype=np.float64)
        if self.by_argmax:
            return Prediction(probabilities.argmax(axis=1).astype(np.intp), probabilities)
        labels = self.model.predict(frame)
        indices = np.fromiter((self._positions[label] for label in labels), dtype=np.intp, count=len(labels))
        return Prediction(indices, probabilities)


def pipeline_predictor(model: Any, features: Sequence[str], classes: Sequence[Scalar], *, where: str) -> Predictor:
    """A Predictor through a loaded pipeline, refused unless its features and classes are the metadata's."""
    if list(getattr(model, "feature_names_in_", features)) != list(features):
        raise LockshipError(f"{where}: the model's features differ from its metadata's")
    if [c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", ())] != list(classes):
        raise LockshipError(f"{where}: the model's classes differ from its metadata's")
    return Predictor(classes, features, model=model, by_argmax=_predicts_by_argmax(model))


def _predicts_by_argmax(model: Any) -> bool:
    """Whether the pipeline's final estimator's `predict` is `classes_[argmax(predict_proba)]`, ties to the first.

    True of scikit-learn's forests and single trees; not of a logistic regression or a boosting, whose
    `predict` thresholds the decision function, which can differ from the rounded probabilities at a tie.
    """
    steps = getattr(model, "steps", None)
    if not steps:
        return False
    from sklearn.ensemble._forest import ForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    estimator = steps[-1][1]
    return isinstance(estimator, ForestClassifier | DecisionTreeClassifier) and getattr(estimator, "n_outputs_", 1) == 1


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


def verified_fast_path(
    pipeline: Predictor, rows: Matrix, extractors: Iterable[Extractor] = (extract,)
) -> FastPath | None:
    """The first fast path an extractor reads from the pipeline that reproduces it on `rows`; None: serve the pipeline.

    The pipeline is called through `predict` and `predict_proba` separately here, whatever `by_argmax`
    says: the fast path must give both answers of the model itself.
    """
    expected: Prediction | None = None
    for extractor in extractors:
        fast = extractor(pipeline.model, pipeline.features)
        if fast is None:
            continue
        if expected is None:
            expected = Predictor(pipeline.classes, pipeline.features, model=pipeline.model).predict(rows)
        indices, probabilities = fast(rows)
        if np.array_equal(indices, expected.indices) and np.allclose(
            probabilities, expected.probabilities, rtol=RTOL, atol=ATOL
        ):
            return fast
    return None


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
