from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lockship.modelfile import load_model
from lockship.stages import prepare, train
from lockship.stages.estimators import ESTIMATORS
from tests.stages.conftest import outputs_in, set_params, small_frame


@pytest.fixture
def split_data(tmp_path: Path, params_file: Path) -> Path:
    """The reference train/test split in tmp_path/data."""
    args = ["--params", str(params_file), "--train", str(tmp_path / "data/train.csv")]
    assert prepare.main([*args, "--test", str(tmp_path / "data/test.csv")]) == 0
    return tmp_path / "data"


def run_train(tmp_path: Path, params: Path, data: Path) -> int:
    return train.main(
        [
            "--params",
            str(params),
            "--train",
            str(data),
            "--model",
            str(tmp_path / "model/model.skops"),
            "--metadata",
            str(tmp_path / "model/metadata.json"),
        ]
    )


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_every_estimator_trains_reproducibly_and_loads_safely(
    estimator: str, tmp_path: Path, params_file: Path, split_data: Path
) -> None:
    set_params(params_file, "train", estimator=estimator)
    set_params(params_file, "train", random_forest={"n_estimators": 30}, gradient_boosting={"n_estimators": 20})
    assert run_train(tmp_path, params_file, split_data / "train.csv") == 0
    model_bytes = (tmp_path / "model/model.skops").read_bytes()
    assert run_train(tmp_path, params_file, split_data / "train.csv") == 0
    assert (tmp_path / "model/model.skops").read_bytes() == model_bytes
    model = load_model(tmp_path / "model/model.skops")
    test = pd.read_csv(split_data / "test.csv")
    assert (model.predict(test.drop(columns=["target"])) == test["target"]).mean() > 0.9
    assert outputs_in(tmp_path / "model") == ["metadata.json", "model.skops"]


def test_metadata_records_what_the_model_was_made_from(
    tmp_path: Path, params_file: Path, split_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    monkeypatch.chdir(tmp_path)
    assert run_train(tmp_path, params_file, Path("data/train.csv")) == 0
    info = json.loads((tmp_path / "model/metadata.json").read_text())
    assert info["estimator"] == "logistic_regression"
    assert info["hyperparameters"] == {"C": 1.0, "max_iter": 1000, "class_weight": None}
    assert info["target"] == "target"
    assert info["classes"] == [0, 1]
    assert info["features"][0] == {"name": "mean radius", "dtype": "float64"}
    assert len(info["features"]) == 30
    assert info["data"]["train"]["md5"] == hashlib.md5((split_data / "train.csv").read_bytes()).hexdigest()
    assert info["model"]["sha256"] == hashlib.sha256((tmp_path / "model/model.skops").read_bytes()).hexdigest()
    environment = info["environment"]
    assert set(environment["libraries"]) == {"numpy", "pandas", "scikit-learn", "scipy", "skops"}
    assert environment["python"] == "3.11"
    assert (environment["blas"]["kernel"], environment["blas"]["threads"]) == ("Haswell", 1)
    assert environment["blas"]["libraries"]
    assert environment["numpy_simd"] == {"ceiling": "X86_V3", "dispatched": ["X86_V3"]}
    assert info["data"]["train"]["path"] == "data/train.csv"
    assert str(tmp_path) not in (tmp_path / "model/metadata.json").read_text()


def test_seed_and_hyperparameters_change_the_model(tmp_path: Path, params_file: Path, split_data: Path) -> None:
    set_params(params_file, "train", estimator="random_forest", random_forest={"n_estimators": 10})
    run_train(tmp_path, params_file, split_data / "train.csv")
    first = (tmp_path / "model/model.skops").read_bytes()
    set_params(params_file, "train", seed=1)
    run_train(tmp_path, params_file, split_data / "train.csv")
    assert (tmp_path / "model/model.skops").read_bytes() != first


def test_string_features_and_missing_values_are_handled(tmp_path: Path, params_file: Path) -> None:
    frame = small_frame()
    frame.loc[3, "height"] = None
    frame.to_csv(tmp_path / "train.csv", index=False)
    set_params(params_file, "prepare", target="label")
    assert run_train(tmp_path, params_file, tmp_path / "train.csv") == 0
    model = load_model(tmp_path / "model/model.skops")
    assert set(model.predict(frame.drop(columns=["label"]))) <= {"yes", "no"}
    # The one-hot encoder ignores unseen colours: the metadata says so, and the server flags such values.
    features = json.loads((tmp_path / "model/metadata.json").read_text())["features"]
    assert [feature.get("unknown") for feature in features] == [None, None, "ignore"]
    unseen = frame.drop(columns=["label"]).iloc[:1].assign(colour="purple")
    assert model.predict(unseen)[0] in {"yes", "no"}


def test_fit_core_is_independent_of_batching_for_forests() -> None:
    frame = small_frame(60)
    features = frame.drop(columns=["label"])
    kwargs = {"target": "label", "estimator": "random_forest", "seed": 3}
    hyper = {"n_estimators": 60, "max_depth": None, "min_samples_leaf": 1, "max_features": "sqrt", "class_weight": None}
    batched = train.fit(frame, hyperparameters=hyper, **kwargs)
    from sklearn.ensemble import RandomForestClassifier

    single = RandomForestClassifier(**hyper, random_state=3, n_jobs=1).fit(
        batched.named_steps["preprocess"].transform(features), frame["label"]
    )
    assert (
        batched.predict_proba(features) == single.predict_proba(batched.named_steps["preprocess"].transform(features))
    ).all()


BAD_PARAMS = {
    "unknown-estimator": (
        {"estimator": "xgboost"},
        r"params.yaml:\d+: train.estimator: 'xgboost' is not one of 'gradient_boosting', 'logistic_regression', "
        r"'random_forest'",
    ),
    "out-of-range": (
        {"logistic_regression": {"C": -1}},
        r"train.logistic_regression.C: must be greater than 0.0, got -1",
    ),
    "mistyped": ({"random_forest": {"n_estimators": "many"}}, r"train.random_forest.n_estimators: expected an integer"),
    "unknown-hyperparameter": ({"gradient_boosting": {"depth": 3}}, r"train.gradient_boosting.depth: unknown key"),
    "float-for-int": ({"seed": 1.5}, r"train.seed: expected an integer, got 1.5"),
    "null": ({"seed": None}, r"train.seed: expected an integer, got null"),
    "bad-choice": (
        {"random_forest": {"max_features": "all"}},
        r"train.random_forest.max_features: 'all' is not one of",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PARAMS))
def test_bad_params_fail_with_one_line_and_write_nothing(
    case: str, tmp_path: Path, params_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small_frame().to_csv(tmp_path / "train.csv", index=False)
    values, message = BAD_PARAMS[case]
    set_params(params_file, "train", **values)
    assert run_train(tmp_path, params_file, tmp_path / "train.csv") == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.search(message, err), err
    assert not (tmp_path / "model").exists()


BAD_DATA = {
    "empty": ("", r"train.csv: file is empty"),
    "header-only": ("height,weight,colour,label\n", r"train.csv: header only, no data rows"),
    "no-target": ("height,weight\n1,2\n", r"training data: no target column 'label' \(prepare.target\)"),
    "target-only": ("label\nyes\nno\n", r"training data: no feature columns besides the target"),
    "corrupt": ("height,label\n1,yes\n1,2,3\n", r"train.csv:3: expected 2 fields as in the header, saw 3"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_training_data_fails_with_one_line_and_writes_nothing(
    case: str, tmp_path: Path, params_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, message = BAD_DATA[case]
    (tmp_path / "train.csv").write_text(content)
    set_params(params_file, "prepare", target="label")
    assert run_train(tmp_path, params_file, tmp_path / "train.csv") == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.search(message, err), err
    assert not (tmp_path / "model").exists()
