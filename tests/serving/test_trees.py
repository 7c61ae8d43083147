"""The tree fast path: forests and boosting walked with numpy, equal to the pipeline, stored as JSON read exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lockship.core.errors import LockshipError
from lockship.core.model.directory import TREES_FILE, read_model_dir
from lockship.modelfile import load_model
from lockship.packaging.treeexport import extract_trees
from lockship.serving.derivedtrees import read_skops_trees
from lockship.serving.service import load_predictor
from lockship.serving.trees import TreeEnsemble, array_equal, read_trees
from lockship.stages.train import fit
from tests.serving.conftest import Trained, pipeline_model_dir, quantile_forest, rehash

FOREST = ("random_forest", {"n_estimators": 40, "max_depth": 8})
BOOSTING = ("gradient_boosting", {"n_estimators": 30, "max_depth": 3, "learning_rate": 0.1})


def _frame(trained: Trained, classes: int) -> tuple[pd.DataFrame, str]:
    frame = pd.read_csv(trained.work / "train.csv")
    if classes == 2:
        return frame, "target"
    frame["band"] = pd.qcut(frame.pop("mean radius"), 3, labels=["low", "mid", "high"]).astype(str)
    return frame.drop(columns=["target"]), "band"


def _fit(trained: Trained, estimator: tuple[str, dict[str, Any]], classes: int) -> tuple[Any, pd.DataFrame]:
    frame, target = _frame(trained, classes)
    model = fit(frame, target=target, estimator=estimator[0], seed=3, hyperparameters=estimator[1])
    return model, frame.drop(columns=[target])


def _agrees(model: Any, fast: TreeEnsemble, frame: pd.DataFrame) -> None:
    indices, probabilities = fast(frame.to_numpy(dtype=np.float64))
    assert [fast.classes[i] for i in indices] == model.predict(frame).tolist()
    np.testing.assert_allclose(probabilities, model.predict_proba(frame), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("estimator", [FOREST, BOOSTING], ids=["forest", "boosting"])
@pytest.mark.parametrize("classes", [2, 3])
def test_equals_the_pipeline_with_and_without_missing_values(
    trained: Trained, estimator: tuple[str, dict[str, Any]], classes: int
) -> None:
    model, features = _fit(trained, estimator, classes)
    fast = extract_trees(model, list(features.columns))
    assert fast is not None
    _agrees(model, fast, features)
    holes = (np.arange(len(features))[:, None] + np.arange(features.shape[1])) % 5 == 2
    _agrees(model, fast, features.mask(holes))  # NaNs the pipeline's imputer fills
    if estimator is FOREST:  # the trees' own order of addition: bit for bit
        np.testing.assert_array_equal(fast(features.to_numpy())[1], model.predict_proba(features))


@pytest.mark.parametrize("estimator", [FOREST, BOOSTING], ids=["forest", "boosting"])
@pytest.mark.parametrize("classes", [2, 3])
def test_a_row_gets_the_same_bits_alone_and_in_batches_of_any_size(
    trained: Trained, estimator: tuple[str, dict[str, Any]], classes: int
) -> None:
    model, features = _fit(trained, estimator, classes)
    fast = extract_trees(model, list(features.columns))
    assert fast is not None
    rows = features.to_numpy(dtype=np.float64)[:200]
    _, whole = fast(rows)
    for size in (1, 7, 64, 65):  # one block of the walk, and past it
        parts = np.concatenate([fast(rows[start : start + size])[1] for start in range(0, len(rows), size)])
        assert parts.tobytes() == whole.tobytes(), f"batches of {size}"


@pytest.mark.parametrize("estimator", [FOREST, BOOSTING], ids=["forest", "boosting"])
def test_trees_json_and_model_skops_read_back_exactly(
    trained: Trained, tmp_path: Path, estimator: tuple[str, dict[str, Any]]
) -> None:
    model, features = _fit(trained, estimator, 3)
    fast = extract_trees(model, list(features.columns))
    assert fast is not None
    (tmp_path / TREES_FILE).write_text(fast.to_text())
    assert array_equal(read_trees(tmp_path / TREES_FILE, features=features.shape[1]), fast) == []
    from lockship.modelfile import model_bytes

    (tmp_path / "model.skops").write_bytes(model_bytes(model))
    assert array_equal(read_skops_trees(tmp_path / "model.skops", list(features.columns)), fast) == []


def test_pipelines_it_cannot_reproduce_have_no_tree_path(trained: Trained) -> None:
    features = list(trained.features.columns)
    assert extract_trees(quantile_forest(trained, 3), features) is None
    frame = pd.read_csv(trained.work / "train.csv")
    boosting = fit(frame, target="target", estimator="gradient_boosting", seed=1, hyperparameters={"n_estimators": 3})
    boosting.steps[1][1].set_params(loss="exponential").fit(
        boosting.steps[0][1].transform(frame[features]), frame["target"]
    )
    assert extract_trees(boosting, features) is None
    assert extract_trees(load_model(trained.work / "model.skops"), features) is None  # the logistic regression


def _broken(tmp_path: Path, fast: TreeEnsemble, change: Any) -> Path:
    document = json.loads(fast.to_text())
    change(document)
    path = tmp_path / TREES_FILE
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format=2), r"format: unsupported format 2, this lockship reads 1"),
        (lambda d: d.update(kind="xgboost"), r"kind: expected random_forest or gradient_boosting, got 'xgboost'"),
        (lambda d: d["left"].__setitem__(0, 0), r"left: expected every node's children after it in its own tree"),
        (lambda d: d["right"].__setitem__(0, d["sizes"][0]), r"left: expected every node's children after it"),
        (lambda d: d["feature"].__setitem__(0, 30), r"feature: expected column indices below the 30"),
        (lambda d: d["threshold"].pop(), r"threshold: expected shape \[\d+\], got \[\d+\]"),
        (lambda d: d["value"].__setitem__(0, [1.0]), r"value: expected numbers only, in a rectangular list"),
        (lambda d: d["sizes"].__setitem__(0, 0), r"sizes: expected at least one tree, each of at least one node"),
        (lambda d: d["positions"].__setitem__(0, 99), r"positions: expected distinct feature indices below"),
    ],
    ids=["format", "kind", "cycle", "outside-tree", "feature", "length", "ragged", "empty-tree", "position"],
)
def test_malformed_trees_json_is_refused_naming_the_key(
    trained: Trained, tmp_path: Path, change: Any, message: str
) -> None:
    model, features = _fit(trained, FOREST, 2)
    fast = extract_trees(model, list(features.columns))
    assert fast is not None
    with pytest.raises(LockshipError, match=rf"{TREES_FILE}: {message}"):
        read_trees(_broken(tmp_path, fast, change), features=features.shape[1])


@pytest.fixture(scope="module")
def forest_dir(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, _ = _fit(trained, FOREST, 2)
    return pipeline_model_dir(trained, tmp_path_factory.mktemp("forest") / "model-dir", model)


def test_a_trees_json_other_than_the_models_is_refused_at_start(forest_dir: Path, tmp_path: Path) -> None:
    """A rewritten trees.json with package.json rehashed to match: the trees are checked against model.skops."""
    copy = shutil.copytree(forest_dir, tmp_path / "model-dir")
    document = json.loads((copy / TREES_FILE).read_text())
    inner = next(i for i, left in enumerate(document["left"]) if left != -1)
    document["threshold"][inner] += 1.0
    (copy / TREES_FILE).write_text(json.dumps(document))
    package = json.loads((copy / "package.json").read_text())
    package["trees_sha256"] = "0" * 64
    (copy / "package.json").write_text(json.dumps(package))
    with pytest.raises(LockshipError, match=r"trees.json: sha256 .* does not match"):
        read_model_dir(copy)
    rehash(copy, TREES_FILE)
    with pytest.raises(LockshipError, match=r"trees.json: threshold differ from the trees stored in .*model.skops"):
        load_predictor(read_model_dir(copy))
