"""linear.json checked against the parameters stored in model.skops, read without scikit-learn."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lockship.core.errors import LockshipError
from lockship.modelfile import load_model, model_bytes
from lockship.serving.derived import MAX_MEMBER_BYTES, check_derived, read_skops_linear
from lockship.serving.linear import LinearModel, extract, read_linear
from lockship.stages.train import fit
from tests.serving.conftest import Trained


def _fields(model: LinearModel) -> dict[str, object]:
    return {name: getattr(model, name).tolist() for name in ("positions", "fill", "mean", "scale", "coef", "intercept")}


def test_the_stored_parameters_are_exactly_what_scikit_learn_loads(trained: Trained) -> None:
    features = list(trained.features.columns)
    stored = read_skops_linear(trained.work / "model.skops", features)
    loaded = extract(load_model(trained.work / "model.skops"), features)
    assert loaded is not None and stored.classes == loaded.classes == (0, 1)
    assert _fields(stored) == _fields(loaded)  # bit for bit, not approximately


def test_a_multiclass_model_with_string_classes_reads_back(trained: Trained, tmp_path: Path) -> None:
    frame = pd.read_csv(trained.work / "train.csv").drop(columns=["target"])
    frame["band"] = pd.qcut(frame.pop("mean radius"), 3, labels=["low", "mid", "high"]).astype(str)
    model = fit(frame, target="band", estimator="logistic_regression", seed=1, hyperparameters={"C": 1.0})
    (tmp_path / "model.skops").write_bytes(model_bytes(model))
    features = list(frame.drop(columns=["band"]).columns)
    stored = read_skops_linear(tmp_path / "model.skops", features)
    loaded = extract(model, features)
    assert loaded is not None and stored.classes == loaded.classes == ("high", "low", "mid")
    assert _fields(stored) == _fields(loaded)


def test_linear_json_with_swapped_coefficients_is_refused(trained: Trained, tmp_path: Path) -> None:
    features = list(trained.features.columns)
    linear = json.loads((trained.model_dir / "linear.json").read_text())
    linear["coef"] = [[-value for value in row] for row in linear["coef"]]
    path = tmp_path / "linear.json"
    path.write_text(json.dumps(linear))
    fast = read_linear(path, features=len(features))
    with pytest.raises(LockshipError) as error:
        check_derived(fast, linear_path=path, model_path=trained.model_dir / "model.skops", features=features)
    assert error.value.problems == (
        f"{path}: coef differ from the parameters stored in {trained.model_dir / 'model.skops'}: "
        "linear.json was not derived from this model",
    )


def test_the_packaged_linear_json_is_accepted(trained: Trained) -> None:
    features = list(trained.features.columns)
    fast = read_linear(trained.model_dir / "linear.json", features=len(features))
    check_derived(fast, linear_path="linear.json", model_path=trained.model_dir / "model.skops", features=features)


def test_other_models_and_broken_files_are_one_line_each(trained: Trained, tmp_path: Path) -> None:
    features = list(trained.features.columns)
    train = pd.read_csv(trained.work / "train.csv")
    forest = fit(train, target="target", estimator="random_forest", seed=1, hyperparameters={"n_estimators": 3})
    (tmp_path / "forest.skops").write_bytes(model_bytes(forest))
    (tmp_path / "empty.skops").write_bytes(b"")
    shutil.copy(trained.work / "model.skops", tmp_path / "cut.skops")
    with open(tmp_path / "cut.skops", "r+b") as handle:
        handle.truncate(2000)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b" " * (MAX_MEMBER_BYTES + 1))
    (tmp_path / "bomb.skops").write_bytes(bomb.getvalue())
    expected = {
        "forest.skops": "holds no scaled logistic regression to read a fast path from: expected "
        "sklearn.linear_model._logistic.LogisticRegression, found ('sklearn.ensemble._forest', "
        "'RandomForestClassifier')",
        "empty.skops": "cannot read the model's parameters: File is not a zip file",
        "cut.skops": "cannot read the model's parameters: File is not a zip file",
        "bomb.skops": f"holds no scaled logistic regression to read a fast path from: member schema.json "
        f"inflates to {MAX_MEMBER_BYTES + 1} bytes",
    }
    for name, message in expected.items():
        with pytest.raises(LockshipError) as error:
            read_skops_linear(tmp_path / name, features)
        assert error.value.problems == (f"{tmp_path / name}: {message}",)


def test_arrays_are_never_unpickled(trained: Trained, tmp_path: Path) -> None:
    """An object array (which numpy can only read through pickle) in place of coef_ is refused, not loaded."""
    source = trained.work / "model.skops"
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    schema = json.loads(members["schema.json"])
    coef = schema["content"]["content"]["steps"]["content"][1]["content"][1]["content"]["content"]["coef_"]["file"]
    pickled = io.BytesIO()
    np.save(pickled, np.array([object()], dtype=object), allow_pickle=True)
    members[coef] = pickled.getvalue()
    with zipfile.ZipFile(tmp_path / "model.skops", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(LockshipError, match="cannot read the model's parameters: Object arrays cannot be loaded"):
        read_skops_linear(tmp_path / "model.skops", list(trained.features.columns))
