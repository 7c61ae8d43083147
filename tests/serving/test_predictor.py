"""The predictor's fast path equals the pipeline, and other models serve through the pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lockship.core.errors import LockshipError
from lockship.core.modeldir import read_model_dir
from lockship.modelfile import load_model
from lockship.serving.predictor import build_predictor, check_rows, smoke_test
from lockship.stages.train import fit
from tests.serving.conftest import Trained


def test_the_fast_path_equals_the_pipeline(trained: Trained) -> None:
    model_dir = read_model_dir(trained.model_dir)
    model = load_model(model_dir.model_path)
    predictor = build_predictor(model, model_dir)
    assert predictor.path == "linear fast path"
    with_missing = trained.features.to_numpy().copy()
    with_missing[::7, 3] = np.nan  # imputed by the pipeline's SimpleImputer
    for matrix in (trained.features.to_numpy(), with_missing, check_rows(model_dir)):
        fast = predictor.predict(matrix)
        frame = pd.DataFrame(matrix, columns=predictor.features)
        assert fast.indices.tolist() == [predictor.classes.index(c) for c in model.predict(frame)]
        np.testing.assert_allclose(fast.probabilities, model.predict_proba(frame), rtol=1e-9, atol=1e-12)


def test_other_models_serve_through_the_pipeline(trained: Trained) -> None:
    model_dir = read_model_dir(trained.model_dir)
    train = pd.read_csv(trained.work / "train.csv")
    forest = fit(train, target="target", estimator="random_forest", seed=1, hyperparameters={"n_estimators": 5})
    predictor = build_predictor(forest, model_dir)
    assert predictor.path == "scikit-learn pipeline"
    result = predictor.predict(trained.features.to_numpy())
    np.testing.assert_array_equal(result.probabilities, forest.predict_proba(trained.features))


def test_a_failing_smoke_prediction_stops_the_start(trained: Trained) -> None:
    model_dir = read_model_dir(trained.model_dir)
    train = pd.read_csv(trained.work / "train.csv").assign(extra=1.0)  # a column the example row lacks
    other = fit(train, target="target", estimator="logistic_regression", seed=1, hyperparameters={"C": 1.0})
    with pytest.raises(LockshipError, match="smoke prediction on the example row failed"):
        smoke_test(build_predictor(other, model_dir), model_dir)
