"""Start-up: the fast paths (linear, trees) start without scikit-learn; any other model is served by its pipeline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from lockship.core.errors import LockshipError
from lockship.core.model.directory import LINEAR_FILE, TREES_FILE, read_model_dir
from lockship.modelfile import load_model
from lockship.serving.service import load_predictor
from tests.conftest import REPO_ROOT
from tests.serving.conftest import (
    Trained,
    build_model_dir,
    pipeline_model_dir,
    quantile_forest,
    rehash,
    start_server,
)

HEAVY = ("sklearn", "skops", "scipy", "pandas")
STARTS = """
import sys
import lockship.serving.app
from lockship.core.model.directory import read_model_dir
from lockship.serving.predictor import smoke_test
from lockship.serving.service import load_predictor
model_dir = read_model_dir(sys.argv[1])
predictor = load_predictor(model_dir)
smoke_test(predictor, model_dir)
print(predictor.path)
print(*sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:])))
"""


def _start(model_dir: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", STARTS, str(model_dir), *HEAVY], capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def test_the_fast_path_starts_without_scikit_learn(trained: Trained) -> None:
    assert (trained.model_dir / LINEAR_FILE).is_file()
    assert _start(trained.model_dir) == ["linear fast path", ""]


@pytest.mark.parametrize(
    ("estimator", "settings"),
    [("random_forest", {"n_estimators": 200, "max_depth": 8}), ("gradient_boosting", {"n_estimators": 150})],
    ids=["forest", "boosting"],
)
def test_forests_and_boosting_start_on_the_tree_path_without_scikit_learn(
    tmp_path: Path, estimator: str, settings: dict[str, int]
) -> None:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["train"] |= {"estimator": estimator, estimator: settings}
    (tmp_path / "trees.yaml").write_text(yaml.safe_dump(params))
    model_dir = build_model_dir(tmp_path, tmp_path / "model-dir", params=tmp_path / "trees.yaml")
    assert (model_dir / TREES_FILE).is_file() and not (model_dir / LINEAR_FILE).exists()
    assert _start(model_dir) == ["tree fast path", ""]
    packaged = read_model_dir(model_dir)
    predictor = load_predictor(packaged)
    model = load_model(packaged.model_path)
    frame = pd.read_csv(tmp_path / "test.csv")[[feature.name for feature in packaged.features]]
    result = predictor.predict(frame.to_numpy())
    np.testing.assert_allclose(result.probabilities, model.predict_proba(frame), rtol=1e-9, atol=1e-12)
    assert [predictor.classes[i] for i in result.indices] == model.predict(frame).tolist()


def test_a_model_no_fast_path_reproduces_is_served_through_its_pipeline(trained: Trained, tmp_path: Path) -> None:
    model = quantile_forest(trained, 5)
    model_dir = pipeline_model_dir(trained, tmp_path / "model-dir", model)
    assert not (model_dir / TREES_FILE).exists() and not (model_dir / LINEAR_FILE).exists()
    path, imported = _start(model_dir)
    assert path == "scikit-learn pipeline" and "sklearn" in imported.split()
    predictor = load_predictor(read_model_dir(model_dir))
    assert predictor.by_argmax  # a forest's labels are its probabilities' argmax: one call of the model
    result = predictor.predict(trained.features.to_numpy())
    np.testing.assert_array_equal(result.probabilities, model.predict_proba(trained.features))
    assert [predictor.classes[i] for i in result.indices] == model.predict(trained.features).tolist()
    server = start_server(model_dir, tmp_path / "input-log", "--workers", "1")
    try:
        assert server.process.poll() is None, server.output()
        assert httpx.get(f"{server.url}/metadata").json()["prediction_path"] == "scikit-learn pipeline"
    finally:
        server.stop()


def test_parameters_for_other_classes_are_refused(trained: Trained, tmp_path: Path) -> None:
    copy = shutil.copytree(trained.model_dir, tmp_path / "model-dir")
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["classes"] = ["benign", "malignant"]
    (copy / "metadata.json").write_text(json.dumps(metadata))
    rehash(copy, "metadata.json")
    with pytest.raises(LockshipError, match=r"linear.json: classes \[0, 1\] differ from the metadata's"):
        load_predictor(read_model_dir(copy))
