"""Both prediction paths answer as the pipeline does, and the smoke prediction holds a start to the packaged answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lockship.core.errors import LockshipError
from lockship.core.model.directory import read_model_dir
from lockship.modelfile import load_model
from lockship.serving.predictor import Predictor, check_rows, pipeline_predictor, smoke_test, verified_fast_path
from lockship.serving.service import load_predictor
from lockship.stages.train import fit
from tests.serving.conftest import Trained


def test_both_paths_equal_the_pipeline(trained: Trained) -> None:
    model_dir = read_model_dir(trained.model_dir)
    model = load_model(model_dir.model_path)
    names = list(trained.features.columns)
    fast = load_predictor(model_dir)
    slow = pipeline_predictor(model, names, model_dir.classes, where="model")
    assert (fast.path, slow.path) == ("linear fast path", "scikit-learn pipeline")
    rows = check_rows(names, model_dir.schema, model_dir.profile, model_dir.package.example)
    for matrix in (trained.features.to_numpy(), rows):
        frame = pd.DataFrame(matrix, columns=names)
        expected = model.predict_proba(frame)
        for predictor in (fast, slow):
            result = predictor.predict(matrix)
            assert [predictor.classes[i] for i in result.indices] == model.predict(frame).tolist()
            np.testing.assert_allclose(result.probabilities, expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(fast.predict_frame(frame).probabilities, fast.predict(matrix).probabilities)


def test_check_rows_start_with_the_example_and_span_the_ranges(trained: Trained) -> None:
    model_dir = read_model_dir(trained.model_dir)
    names = list(trained.features.columns)
    rows = check_rows(names, model_dir.schema, model_dir.profile, model_dir.package.example)
    assert rows.shape == (257, len(names))
    assert rows[0].tolist() == [model_dir.package.example[name] for name in names]
    declared = [model_dir.schema.column(name).minimum for name in names]  # type: ignore[union-attr]
    profiled = [model_dir.profile["features"][name]["min"] for name in names]
    assert rows[1].tolist() == [float(d if d is not None else p) for d, p in zip(declared, profiled, strict=True)]
    assert np.array_equal(rows, check_rows(names, model_dir.schema, model_dir.profile, model_dir.package.example))


def test_other_models_have_no_fast_path(trained: Trained) -> None:
    train = pd.read_csv(trained.work / "train.csv")
    forest = fit(train, target="target", estimator="random_forest", seed=1, hyperparameters={"n_estimators": 5})
    pipeline = pipeline_predictor(forest, list(trained.features.columns), (0, 1), where="forest")
    assert verified_fast_path(pipeline, trained.features.to_numpy()) is None


def test_a_pipeline_unlike_its_metadata_is_refused(trained: Trained) -> None:
    model = load_model(trained.work / "model.skops")
    names = list(trained.features.columns)
    with pytest.raises(LockshipError, match=r"model\.skops: the model's features differ"):
        pipeline_predictor(model, names[::-1], (0, 1), where="model.skops")
    with pytest.raises(LockshipError, match=r"model\.skops: the model's classes differ"):
        pipeline_predictor(model, names, ("benign", "malignant"), where="model.skops")


def test_an_answer_unlike_the_packaged_one_stops_the_start(trained: Trained, tmp_path: Path) -> None:
    copy = shutil.copytree(trained.model_dir, tmp_path / "model-dir")
    package = json.loads((copy / "package.json").read_text())
    package["example_probabilities"] = package["example_probabilities"][::-1]
    (copy / "package.json").write_text(json.dumps(package))
    model_dir = read_model_dir(copy)
    pipeline = pipeline_predictor(load_model(model_dir.model_path), list(trained.features.columns),
                                  model_dir.classes, where="model.skops")  # fmt: skip
    for predictor in (load_predictor(model_dir), pipeline):
        with pytest.raises(LockshipError, match="does not answer as it did when packaged"):
            smoke_test(predictor, model_dir)


def test_a_failing_smoke_prediction_stops_the_start(trained: Trained) -> None:
    model_dir = read_model_dir(trained.model_dir)
    train = pd.read_csv(trained.work / "train.csv").assign(extra=1.0)  # a column the example row lacks
    other = fit(train, target="target", estimator="logistic_regression", seed=1, hyperparameters={"C": 1.0})
    predictor = Predictor(model_dir.classes, list(trained.features.columns), model=other)
    with pytest.raises(LockshipError, match="smoke prediction on the example row failed"):
        smoke_test(predictor, model_dir)
