from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lockship.stages import evaluate, prepare, train
from tests.stages.conftest import outputs_in, set_params


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference pipeline's prepare and train outputs, built once."""
    from tests.conftest import REPO_ROOT

    root = tmp_path_factory.mktemp("trained")
    shutil.copy(REPO_ROOT / "params.yaml", root / "params.yaml")
    params = str(root / "params.yaml")
    assert prepare.main(["--params", params, "--train", str(root / "train.csv"), "--test", str(root / "test.csv")]) == 0
    args = ["--params", params, "--train", str(root / "train.csv")]
    assert train.main([*args, "--model", str(root / "model.skops"), "--metadata", str(root / "metadata.json")]) == 0
    return root


def run_evaluate(trained: Path, out: Path, **overrides: Path) -> int:
    paths = {
        name: trained / f
        for name, f in [
            ("model", "model.skops"),
            ("metadata", "metadata.json"),
            ("train", "train.csv"),
            ("test", "test.csv"),
        ]
    }
    paths.update(overrides)
    return evaluate.main(
        [
            "--params", str(overrides.get("params", trained / "params.yaml")),
            "--model", str(paths["model"]),
            "--metadata", str(paths["metadata"]),
            "--train", str(paths["train"]),
            "--test", str(paths["test"]),
            "--metrics", str(out / "metrics.json"),
            "--plots", str(out / "plots"),
            "--profile", str(out / "profile.json"),
        ]
    )  # fmt: skip


def test_metrics_plots_and_profile(trained: Path, tmp_path: Path) -> None:
    assert run_evaluate(trained, tmp_path / "out") == 0
    metrics = json.loads((tmp_path / "out/metrics.json").read_text())
    assert sorted(metrics) == ["accuracy", "f1", "precision", "recall", "roc_auc"]
    assert all(0.9 < value <= 1 for value in metrics.values())
    confusion = pd.read_csv(tmp_path / "out/plots/confusion.csv")
    assert list(confusion.columns) == ["actual", "predicted"] and len(confusion) == 114
    assert (confusion.actual == confusion.predicted).mean() == pytest.approx(metrics["accuracy"], abs=1e-6)
    roc = pd.read_csv(tmp_path / "out/plots/roc.csv")
    assert roc.iloc[0][["fpr", "tpr"]].tolist() == [0, 0] and roc.iloc[-1][["fpr", "tpr"]].tolist() == [1, 1]
    assert np.trapezoid(roc.tpr, roc.fpr) == pytest.approx(metrics["roc_auc"], abs=1e-4)
    assert list(pd.read_csv(tmp_path / "out/plots/precision_recall.csv").columns) == ["class", "recall", "precision"]
    profile = json.loads((tmp_path / "out/profile.json").read_text())
    assert profile["rows"] == 455 and profile["bins"] == 10 and len(profile["features"]) == 30
    radius = profile["features"]["mean radius"]
    assert radius["kind"] == "numeric" and len(radius["edges"]) == 9 and sum(radius["counts"]) == 455
    assert radius["edges"] == sorted(radius["edges"])
    assert outputs_in(tmp_path / "out") == [
        "metrics.json", "plots/confusion.csv", "plots/precision_recall.csv", "plots/roc.csv", "profile.json",
    ]  # fmt: skip


def test_outputs_are_byte_identical_across_runs(trained: Path, tmp_path: Path) -> None:
    run_evaluate(trained, tmp_path / "a")
    run_evaluate(trained, tmp_path / "b")
    for name in outputs_in(tmp_path / "a"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_profile_core_counts_categories_and_open_ended_bins() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, None], "c": ["a", "b", "a", None, "a"]})
    profile = evaluate.profile(frame, features=["x", "c"], bins=2)
    assert profile["features"]["x"] | {"mean": None, "std": None} == {
        "missing": 1, "kind": "numeric", "edges": [2.5], "counts": [2, 2], "mean": None, "std": None,
        "min": 1.0, "max": 4.0,
    }  # fmt: skip
    assert profile["features"]["c"] == {"missing": 1, "kind": "categorical", "counts": {"a": 3, "b": 1}}


def test_multiclass_metrics_are_macro_averaged(tmp_path: Path, params_file: Path) -> None:
    set_params(params_file, "prepare", source="sklearn:iris")
    params = str(params_file)
    prepare.main(["--params", params, "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv")])
    args = ["--params", params, "--train", str(tmp_path / "train.csv")]
    train.main([*args, "--model", str(tmp_path / "model.skops"), "--metadata", str(tmp_path / "metadata.json")])
    assert run_evaluate(tmp_path, tmp_path / "out", params=params_file) == 0
    metrics = json.loads((tmp_path / "out/metrics.json").read_text())
    assert metrics["accuracy"] > 0.8 and metrics["roc_auc"] > 0.9
    assert sorted(pd.read_csv(tmp_path / "out/plots/roc.csv")["class"].unique()) == [0, 1, 2]


BAD = {
    "model-not-zip": ("model", "model.skops", b"not a zip", r"model.skops: not a skops model file"),
    "metadata-not-json": ("metadata", "metadata.json", b"{", r"metadata.json: not a lockship model metadata file"),
    "test-header-only": ("test", "test.csv", None, r"test.csv: header only, no data rows"),
    "test-missing-feature": (
        "test",
        "test.csv",
        b"mean radius,target\n1,0\n",
        r"test.csv: missing column\(s\) the model",
    ),
    "test-empty": ("test", "test.csv", b"", r"test.csv: file is empty"),
    "model-missing": ("model", "nowhere.skops", None, r"nowhere.skops: model file not found"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inputs_fail_with_one_line_and_write_nothing(
    case: str, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argument, name, content, message = BAD[case]
    if case == "test-header-only":
        content = (trained / "test.csv").read_text().splitlines()[0].encode() + b"\n"
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert run_evaluate(trained, tmp_path / "out", **{argument: path}) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


def test_a_model_file_with_untrusted_types_is_refused(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    skops.io.dump(FunctionTransformer(func=print), tmp_path / "evil.skops")
    assert run_evaluate(trained, tmp_path / "out", model=tmp_path / "evil.skops") == 1
    assert "evil.skops: refusing to load untrusted type(s): builtins.print" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
