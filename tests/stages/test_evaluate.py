from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lockship.core.errors import LockshipError
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
    averaged = [f"{m}_{a}" for m in ("f1", "precision", "recall") for a in ("macro", "weighted")]
    assert sorted(metrics) == sorted(["accuracy", "classes", "positive_class", "roc_auc", *averaged])
    assert metrics["positive_class"] == "1" and sorted(metrics["classes"]) == ["0", "1"]
    assert all(0.9 < metrics[name] <= 1 for name in ["accuracy", "roc_auc", *averaged])
    assert metrics["classes"]["0"]["support"] + metrics["classes"]["1"]["support"] == 114
    confusion = pd.read_csv(tmp_path / "out/plots/confusion.csv")
    assert list(confusion.columns) == ["actual", "predicted"] and len(confusion) == 114
    assert (confusion.actual == confusion.predicted).mean() == pytest.approx(metrics["accuracy"], abs=1e-6)
    roc = pd.read_csv(tmp_path / "out/plots/roc.csv")
    assert set(roc["class"]) == {1}  # two classes: the positive class's curve alone
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


def test_the_reference_gate_rules_name_metrics_evaluate_writes(trained: Path, tmp_path: Path) -> None:
    from lockship.core.config import load_config
    from lockship.core.metrics import compare, parse_metrics
    from tests.conftest import REPO_ROOT

    assert run_evaluate(trained, tmp_path / "out") == 0
    rules = load_config(REPO_ROOT / "params.yaml").gate_metrics
    found = parse_metrics((tmp_path / "out/metrics.json").read_bytes(), "metrics.json")
    assert set(rules.rules) and set(rules.rules) <= set(found)
    new = {("metrics.json", key): value for key, value in found.items()}
    rows = compare(new, new, rules, base_label="main")
    assert [row.metric for row in rows if row.rule != "not gated" and row.verdict == "pass"] == sorted(rules.rules)


def test_the_positive_class_is_chosen_in_params(trained: Path, tmp_path: Path) -> None:
    shutil.copy(trained / "params.yaml", tmp_path / "params.yaml")
    set_params(tmp_path / "params.yaml", "evaluate", positive_class=0)
    assert run_evaluate(trained, tmp_path / "out", params=tmp_path / "params.yaml") == 0
    metrics = json.loads((tmp_path / "out/metrics.json").read_text())
    assert metrics["positive_class"] == "0"
    assert set(pd.read_csv(tmp_path / "out/plots/precision_recall.csv")["class"]) == {0}
    assert set(pd.read_csv(tmp_path / "out/plots/roc.csv")["class"]) == {0}


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
    set_params(params_file, "evaluate", positive_class=None)
    params = str(params_file)
    prepare.main(["--params", params, "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv")])
    args = ["--params", params, "--train", str(tmp_path / "train.csv")]
    train.main([*args, "--model", str(tmp_path / "model.skops"), "--metadata", str(tmp_path / "metadata.json")])
    assert run_evaluate(tmp_path, tmp_path / "out", params=params_file) == 0
    metrics = json.loads((tmp_path / "out/metrics.json").read_text())
    assert metrics["accuracy"] > 0.8 and metrics["roc_auc"] > 0.9 and "positive_class" not in metrics
    assert sorted(pd.read_csv(tmp_path / "out/plots/roc.csv")["class"].unique()) == [0, 1, 2]


def test_score_gives_per_class_figures_beside_macro_and_weighted_averages() -> None:
    labels = np.array(["a", "a", "a", "a", "b", "b", "c"])
    predicted = np.array(["a", "a", "a", "b", "b", "c", "c"])
    probabilities = np.array(
        [[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.3, 0.6],
         [0.1, 0.2, 0.7]]
    )  # fmt: skip
    metrics = evaluate.score(labels, predicted, probabilities, ["a", "b", "c"], None)
    # a: 3 of 3 predicted right, 3 of 4 found; b: 1 of 2, 1 of 2; c: 1 of 2, 1 of 1. b's ROC AUC: of its
    # 2 x 5 score pairs, 0.7 beats all 5, 0.3 beats 3 and ties 1: 8.5 / 10.
    assert metrics["classes"] == {
        "a": {"precision": 1.0, "recall": 0.75, "f1": 0.857143, "roc_auc": 1.0, "support": 4},
        "b": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "roc_auc": 0.85, "support": 2},
        "c": {"precision": 0.5, "recall": 1.0, "f1": 0.666667, "roc_auc": 1.0, "support": 1},
    }
    assert metrics["precision_macro"] == round(2 / 3, 6) and metrics["precision_weighted"] == round(5.5 / 7, 6)
    assert metrics["recall_macro"] == round(2.25 / 3, 6) and metrics["recall_weighted"] == round(5 / 7, 6)
    assert metrics["f1_macro"] == round((6 / 7 + 0.5 + 2 / 3) / 3, 6)
    assert metrics["accuracy"] == round(5 / 7, 6) and "positive_class" not in metrics


def test_a_class_missing_from_the_test_set_is_one_clear_line() -> None:
    probabilities = np.array([[0.8, 0.2], [0.6, 0.4]])
    with pytest.raises(LockshipError, match=r"^test set: ROC AUC needs every class in the test set; none of: 1$"):
        evaluate.score(np.array([0, 0]), np.array([0, 1]), probabilities, [0, 1], 1)


def test_positive_class_applies_to_two_classes_and_must_be_one_of_them() -> None:
    assert evaluate.positive_class([0, 1], None) == 1
    assert evaluate.positive_class(["no", "yes"], "no") == "no"
    assert evaluate.positive_class([0, 1, 2], None) is None
    with pytest.raises(LockshipError, match=r"evaluate.positive_class: '2' is not one of the model's classes \(0, 1\)"):
        evaluate.positive_class([0, 1], "2")
    with pytest.raises(LockshipError, match=r"'1' applies to two classes, the model has 3 \(a, b, c\); remove it"):
        evaluate.positive_class(["a", "b", "c"], "1")


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


CLASSES = ("common", "less common", "rare (10%)")


def imbalanced_three_classes(rows: int = 300) -> pd.DataFrame:
    """70/20/10 % of three classes whose names have spaces and parentheses; two noisy numeric features."""
    rng = np.random.default_rng(7)
    labels = rng.choice(len(CLASSES), size=rows, p=[0.7, 0.2, 0.1])
    return pd.DataFrame(
        {
            "width (cm)": (labels * 1.5 + rng.normal(0, 1, rows)).round(3),
            "depth": (labels * -1.0 + rng.normal(0, 1, rows)).round(3),
            "label": [CLASSES[i] for i in labels],
        }
    )


def test_three_imbalanced_classes_get_per_class_figures_and_curves_that_dvc_draws_one_per_class(
    tmp_path: Path, params_file: Path
) -> None:
    from tests.conftest import REPO_ROOT, run

    imbalanced_three_classes().to_csv(tmp_path / "data.csv", index=False)
    set_params(params_file, "prepare", source=str(tmp_path / "data.csv"), target="label")
    set_params(params_file, "evaluate", positive_class=None)
    params = str(params_file)
    assert (
        prepare.main(["--params", params, "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv")])
        == 0
    )
    args = ["--params", params, "--train", str(tmp_path / "train.csv")]
    assert (
        train.main([*args, "--model", str(tmp_path / "model.skops"), "--metadata", str(tmp_path / "metadata.json")])
        == 0
    )
    assert run_evaluate(tmp_path, tmp_path / "out", params=params_file) == 0

    metrics = json.loads((tmp_path / "out/metrics.json").read_text())
    test_counts = pd.read_csv(tmp_path / "test.csv")["label"].value_counts()
    assert sorted(metrics["classes"]) == sorted(CLASSES)
    assert {name: figures["support"] for name, figures in metrics["classes"].items()} == dict(test_counts)
    confusion = pd.read_csv(tmp_path / "out/plots/confusion.csv")
    for name, figures in metrics["classes"].items():
        found = confusion[confusion.actual == name]
        assert figures["recall"] == pytest.approx((found.predicted == name).mean(), abs=1e-6)
    recalls = [metrics["classes"][name]["recall"] for name in CLASSES]
    assert metrics["recall_macro"] == pytest.approx(sum(recalls) / 3, abs=1e-6)
    assert metrics["recall_weighted"] == pytest.approx(metrics["accuracy"], abs=1e-6)  # as support-weighted recall is
    assert metrics["recall_weighted"] != metrics["recall_macro"]  # imbalance: the averages differ

    # The reference pipeline's plot definitions and template, in a real DVC project.
    project = tmp_path / "project"
    (project / "plots").mkdir(parents=True)
    run("git", "init", "-q", cwd=project)
    run("dvc", "init", "-q", cwd=project)
    (project / ".dvc" / "plots").mkdir()
    shutil.copy(REPO_ROOT / ".dvc" / "plots" / "per_class.json", project / ".dvc" / "plots" / "per_class.json")
    definitions = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["plots"]
    (project / "dvc.yaml").write_text(yaml.safe_dump({"plots": definitions}, sort_keys=False))
    for name in ("confusion.csv", "roc.csv", "precision_recall.csv"):
        shutil.copy(tmp_path / "out" / "plots" / name, project / "plots" / name)
    shown = json.loads(run("dvc", "plots", "show", "--json", cwd=project).stdout)["data"]
    run("dvc", "plots", "show", "-o", "html", cwd=project)
    html = (project / "html" / "index.html").read_text()
    specs = [json.JSONDecoder().raw_decode(html, match.end())[0] for match in re.finditer(r"var spec = ", html)]
    for title in ("ROC curve (test set)", "Precision-recall curve (test set)"):
        spec = shown[title][0]["content"]
        assert [s for s in specs if s.get("title", {}).get("text") == title] == [spec]
        assert spec["encoding"]["color"]["field"] == "class"
        assert {point["class"] for point in spec["data"]["values"]} == set(CLASSES)
