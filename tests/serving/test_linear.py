"""The linear fast path: the pipeline's arithmetic in numpy, stored as JSON that reads back bit for bit."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lockship.core.errors import LockshipError
from lockship.core.fsio import canonical_json
from lockship.modelfile import load_model
from lockship.serving.linear import extract, read_linear
from lockship.stages.train import fit
from tests.serving.conftest import Trained


def _agrees(model: object, frame: pd.DataFrame) -> None:
    fast = extract(model, list(frame.columns))
    assert fast is not None
    indices, probabilities = fast(frame.to_numpy(dtype=np.float64))
    assert [fast.classes[i] for i in indices] == model.predict(frame).tolist()  # type: ignore[attr-defined]
    np.testing.assert_allclose(probabilities, model.predict_proba(frame), rtol=1e-9, atol=1e-12)  # type: ignore[attr-defined]


def test_binary_equals_the_pipeline_with_and_without_missing_values(trained: Trained) -> None:
    model = load_model(trained.work / "model.skops")
    features = trained.features
    _agrees(model, features)
    holes = (np.arange(len(features))[:, None] + np.arange(features.shape[1])) % 7 == 3
    _agrees(model, features.mask(holes))  # NaNs the pipeline's imputer fills


def test_multiclass_equals_the_pipeline(trained: Trained) -> None:
    frame = pd.read_csv(trained.work / "train.csv").drop(columns=["target"])
    frame["band"] = pd.qcut(frame.pop("mean radius"), 3, labels=["low", "mid", "high"]).astype(str)
    model = fit(frame, target="band", estimator="logistic_regression", seed=1, hyperparameters={"C": 1.0})
    _agrees(model, frame.drop(columns=["band"]))


@pytest.mark.parametrize("classes", [2, 3])
def test_a_row_gets_the_same_bits_alone_and_in_batches_of_any_size(trained: Trained, classes: int) -> None:
    """Few rows and many take different code in the fixed-order sum: both must add in the same order."""
    frame = pd.read_csv(trained.work / "train.csv")
    if classes == 2:
        model = load_model(trained.work / "model.skops")
    else:
        frame["band"] = pd.qcut(frame.pop("mean radius"), 3, labels=["low", "mid", "high"]).astype(str)
        model = fit(frame.drop(columns=["target"]), target="band", estimator="logistic_regression", seed=1,
                    hyperparameters={"C": 1.0})  # fmt: skip
    features = frame[list(model.feature_names_in_)]
    fast = extract(model, list(features.columns))
    assert fast is not None
    rows = np.tile(features.to_numpy(dtype=np.float64), (3, 1))[:1000]  # past the few-rows branch
    _, whole = fast(rows)
    for size in (1, 7, 128, 129):
        parts = [fast(rows[start : start + size])[1] for start in range(0, 300, size)]
        assert np.array_equal(np.concatenate(parts), whole[: sum(len(part) for part in parts)]), size


def test_extreme_scores_stay_finite_without_warnings(trained: Trained) -> None:
    fast = extract(load_model(trained.work / "model.skops"), list(trained.features.columns))
    assert fast is not None
    far = np.tile(trained.features.to_numpy().mean(axis=0), (2, 1)) + np.array([[1e6], [-1e6]]) * fast.coef[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, probabilities = fast(far)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_other_models_have_no_fast_path(trained: Trained) -> None:
    train = pd.read_csv(trained.work / "train.csv")
    forest = fit(train, target="target", estimator="random_forest", seed=1, hyperparameters={"n_estimators": 5})
    assert extract(forest, list(trained.features.columns)) is None


def test_json_round_trip_is_exact(trained: Trained, tmp_path: Path) -> None:
    fast = extract(load_model(trained.work / "model.skops"), list(trained.features.columns))
    assert fast is not None
    path = tmp_path / "linear.json"
    path.write_text(canonical_json(fast.to_json()))
    again = read_linear(path, features=len(trained.features.columns))
    assert again.classes == fast.classes
    for name in ("positions", "fill", "mean", "scale", "coef", "intercept"):
        assert np.array_equal(getattr(again, name), getattr(fast, name)), name
    matrix = trained.features.to_numpy()
    assert np.array_equal(again(matrix)[1], fast(matrix)[1])


def test_broken_parameters_are_named_with_their_line(trained: Trained, tmp_path: Path) -> None:
    fast = extract(load_model(trained.work / "model.skops"), list(trained.features.columns))
    assert fast is not None
    data = fast.to_json() | {"format": 9, "positions": [0, 0, 40], "scale": [1.0] * 29 + [0.0]}
    data["intercept"] = ["x"]
    path = tmp_path / "linear.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    lines = path.read_text().splitlines()
    with pytest.raises(LockshipError) as error:
        read_linear(path, features=30)

    def line_of(key: str) -> int:
        return next(number for number, line in enumerate(lines, 1) if line.startswith(f'  "{key}"'))

    assert error.value.problems == (
        f"{path}:{line_of('format')}: format: unsupported format 9, this lockship reads 1",
        f"{path}:{line_of('positions')}: positions: expected distinct feature indices",
        f"{path}:{line_of('scale')}: scale: a scale of 0",
        f"{path}:{line_of('intercept')}: intercept: expected numbers only, in a rectangular list",
    )
    path.write_text(json.dumps(fast.to_json() | {"coef": [[1.0]] * 30 + [[float("inf")]]}))
    with pytest.raises(LockshipError, match=r"linear\.json: Infinity is not a JSON value"):
        read_linear(path, features=30)
    path.write_text(json.dumps(fast.to_json() | {"coef": [[1.0]] * 31}))
    with pytest.raises(LockshipError, match=r"coef: expected shape \[30, 1\], got \[31, 1\]"):
        read_linear(path, features=30)
