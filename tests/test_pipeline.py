"""The reference pipeline end to end with the real dvc, in fresh copies of this project."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, copy_project, run

OUTPUTS = (
    "data/prepared/train.csv",
    "data/prepared/test.csv",
    "reports/validation.json",
    "models/model.skops",
    "models/metadata.json",
    "metrics.json",
    "plots/confusion.csv",
    "plots/roc.csv",
    "plots/precision_recall.csv",
    "reports/profile.json",
)
PIPELINE_STAGES = ("prepare", "validate", "train", "evaluate")


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the project after a plain `dvc repro` of the reference stages."""
    project = copy_project(tmp_path_factory.mktemp("fresh") / "project")
    run("dvc", "repro", *PIPELINE_STAGES, cwd=project)
    return project


def test_fresh_clone_reproduces_the_committed_lock(reproduced: Path) -> None:
    assert (reproduced / "dvc.lock").read_bytes() == (REPO_ROOT / "dvc.lock").read_bytes()
    assert run("git", "status", "--porcelain", cwd=reproduced).stdout == ""
    assert "Data and pipelines are up to date" in run("dvc", "status", *PIPELINE_STAGES, cwd=reproduced).stdout


def test_forced_reproduction_in_two_clones_is_byte_identical(reproduced: Path, tmp_path: Path) -> None:
    other = copy_project(tmp_path / "other")
    run("dvc", "repro", "--force", *PIPELINE_STAGES, cwd=other)
    run("dvc", "repro", "--force", *PIPELINE_STAGES, cwd=reproduced)
    for output in OUTPUTS:
        assert (other / output).read_bytes() == (reproduced / output).read_bytes(), output
    assert (other / "dvc.lock").read_bytes() == (reproduced / "dvc.lock").read_bytes()


def test_dvc_reads_the_metrics_and_renders_the_plots(reproduced: Path) -> None:
    metrics = json.loads(run("dvc", "metrics", "show", "--json", cwd=reproduced).stdout)
    values = metrics[""]["data"]["metrics.json"]["data"]
    averaged = [f"{m}_{a}" for m in ("f1", "precision", "recall") for a in ("macro", "weighted")]
    assert sorted(values) == sorted(["accuracy", "classes", "positive_class", "roc_auc", *averaged])
    assert sorted(values["classes"]["1"]) == ["f1", "precision", "recall", "roc_auc", "support"]
    shown = run("dvc", "plots", "show", "--json", cwd=reproduced).stdout
    rendered = json.loads(shown)["data"]
    assert {"plots/confusion.csv", "ROC curve (test set)", "Precision-recall curve (test set)"} <= set(rendered)


def test_a_failing_stage_stops_the_pipeline_with_its_message(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["estimator"] = "xgboost"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = run("dvc", "repro", *PIPELINE_STAGES, cwd=project, check=False)
    assert result.returncode != 0
    assert "train.estimator: 'xgboost' is not one of" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (project / "models/model.skops").exists()


def lockship_imports(path: Path) -> set[Path]:
    """Every lockship source file `path` imports, at module level or inside functions, transitively."""
    found: set[Path] = set()
    pending = [path]
    while pending:
        tree = ast.parse(pending.pop().read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if not name.startswith("lockship."):
                    continue
                source = REPO_ROOT / Path(*name.split(".")).with_suffix(".py")
                if source.exists() and source.resolve() not in found:
                    found.add(source.resolve())
                    pending.append(source)
    return found


def test_each_stage_lists_the_lockship_code_it_imports() -> None:
    """A stage whose imported code is missing from its deps would not rerun when that code changes."""
    pipeline = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    for name in (*PIPELINE_STAGES, "package"):
        stage = pipeline[name]
        module = stage["cmd"].split()[2]
        assert module == f"lockship.stages.{name}"
        deps = [(REPO_ROOT / dep).resolve() for dep in stage["deps"]]
        stage_file = (REPO_ROOT / "stages" / f"{name}.py").resolve()
        assert stage_file in deps
        for used in sorted(lockship_imports(stage_file)):
            if used.name != "__init__.py":
                assert any(used == dep or used.is_relative_to(dep) for dep in deps), f"{name}: {used} not in deps"
