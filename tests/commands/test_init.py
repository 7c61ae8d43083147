"""lockship init on messy tables of our own: init, `dvc repro` with every estimator, then serving the workspace model.

The tables have what real ones have: an ID column, a row number, a date, free text, a constant, categories,
missing values in most rows, names with spaces and parentheses, and three imbalanced classes.
The image build is skipped here: the pipeline `lockship init` writes runs the package stage with
`--builder none` (documented: it writes models/serve only), and the image is tested in tests/packaging.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from lockship.commands.init_files import PER_CLASS_TEMPLATE
from lockship.stages.estimators import ESTIMATORS
from tests.commands.test_install import make_lockship_url
from tests.conftest import REPO_ROOT, run
from tests.serving.conftest import start_server

ROWS = 300


def messy_table(seed: int) -> pd.DataFrame:
    """A table a user might have: most rows have a gap somewhere, and the classes are 60/30/10."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, ROWS).astype(float)
    pressure = np.round(rng.normal(120, 15, ROWS), 1)
    region = rng.choice(["north", "south", "east", "west"], ROWS)
    score = (age - 50) / 20 + (pressure - 120) / 15 + (region == "north") * 1.5 + rng.normal(0, 0.5, ROWS)
    mild, severe = np.quantile(score, [0.6, 0.9])
    outcome = np.where(score > severe, "severe", np.where(score > mild, "mild", "none"))
    frame = pd.DataFrame(
        {
            "Patient ID": [f"P-{seed}{index:05d}" for index in range(ROWS)],
            "row": np.arange(ROWS),
            "Age (years)": age,
            "Blood pressure (mm Hg)": pressure,
            "Region": region,
            "Smoker?": rng.choice(["yes", "no"], ROWS),
            "Visit date": [f"20{20 + i % 4}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(ROWS)],
            "Notes (free text)": [
                f"patient reported {w} after the visit" for w in rng.choice(["pain", "nothing", "relief"], ROWS)
            ],
            "Site": ["clinic-7"] * ROWS,
            "outcome": outcome,
        }
    )
    for column in ("Age (years)", "Blood pressure (mm Hg)", "Region", "Smoker?", "Visit date", "Notes (free text)"):
        frame.loc[rng.random(ROWS) < 0.3, column] = None
    counts = frame["outcome"].value_counts()
    assert len(counts) == 3 and counts.iloc[0] > 2 * counts.iloc[-1]  # imbalanced
    assert frame.drop(columns=["outcome"]).notna().all(axis=1).mean() < 0.2  # most rows have a gap
    return frame


@pytest.fixture(params=["csv", "parquet"])
def project(request: pytest.FixtureRequest, git_repo: Path) -> tuple[Path, str]:
    frame = messy_table(7 if request.param == "csv" else 11)
    data = f"data/patients (2024).{request.param}"
    (git_repo / "data").mkdir()
    if request.param == "csv":
        frame.to_csv(git_repo / data, index=False)
    else:
        frame.to_parquet(git_repo / data, index=False)
    return git_repo, data


def lockship(*args: str, cwd: Path, check: bool = True) -> tuple[int, str, str]:
    result = run(sys.executable, "-m", "lockship", *args, cwd=cwd, check=check)
    return result.returncode, result.stdout, result.stderr


def test_init_then_every_estimator_reproduces_and_serves(project: tuple[Path, str], tmp_path: Path) -> None:
    repo, data = project
    _, said, _ = lockship("init", "--data", data, "--target", "outcome", "--no-hooks", cwd=repo)
    assert ".dvc: created (dvc init)" in said and f"{data}.dvc: written" in said
    assert "next: git add -A && dvc repro" in said
    params = (repo / "params.yaml").read_text()
    # Proposed drops are in the file with their reasons, not applied silently.
    for name, reason in (("Patient ID", "identifier-like"), ("row", "identifier-like"),
                         ("Notes (free text)", "free text"), ("Site", "constant")):  # fmt: skip
        assert re.search(rf'- "{re.escape(name)}" +# {reason}', params), name
    written = {name: (repo / name).read_bytes() for name in ("params.yaml", "dvc.yaml", "schema.yaml", f"{data}.dvc")}
    # Twice: nothing changes.
    _, again, _ = lockship("init", "--data", data, "--target", "outcome", "--no-hooks", cwd=repo)
    assert "written" not in again.replace(f"{data}.dvc: unchanged", "") and "unchanged" in again
    assert {name: (repo / name).read_bytes() for name in written} == written
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qm", "lockship init", cwd=repo)
    assert data not in run("git", "ls-files", cwd=repo).stdout.splitlines()  # the data went to DVC
    for estimator in sorted(ESTIMATORS):
        text = re.sub(r"estimator: \w+", f"estimator: {estimator}", (repo / "params.yaml").read_text(), count=1)
        (repo / "params.yaml").write_text(text)
        run("dvc", "repro", cwd=repo)
        assert json.loads((repo / "models/serve/package.json").read_text())["params"]["train"]["estimator"] == estimator
        serve_and_probe(repo, tmp_path / estimator)
    metrics = json.loads((repo / "metrics.json").read_text())
    assert 0 < metrics["accuracy"] <= 1 and sorted(metrics["classes"]) == ["mild", "none", "severe"]
    shown = json.loads(run("dvc", "plots", "show", "--json", cwd=repo).stdout)["data"]
    roc = shown["ROC curve (test set)"][0]["content"]
    assert roc["encoding"]["color"]["field"] == "class"
    assert {point["class"] for point in roc["data"]["values"]} == {"mild", "none", "severe"}


def serve_and_probe(repo: Path, log_dir: Path) -> None:
    """Outside the training range and an unseen category: 200 and flagged. A string for a number: 422."""
    test = pd.read_csv(repo / "data/prepared/test.csv")
    features = [f["name"] for f in json.loads((repo / "models/metadata.json").read_text())["features"]]
    assert "Visit date_year" in features and "Patient ID" not in features and "Site" not in features
    record = {name: (None if pd.isna(value) else value) for name, value in test.iloc[0][features].items()}
    record = {name: value.item() if hasattr(value, "item") else value for name, value in record.items()}
    schema = yaml.safe_load((repo / "schema.yaml").read_text())["columns"]
    server = start_server(repo / "models/serve", log_dir, "--workers", "1")
    try:
        assert server.process.poll() is None, server.output()
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
        future = dict(record, **{"Visit date_year": schema["Visit date_year"]["max"] + 1, "Region": "atlantis"})
        del future["Smoker?"]  # nullable: may be left out
        answer = httpx.post(f"{server.url}/predict", json={"records": [record, future]})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 2
        wrong = dict(record, **{"Age (years)": "forty"})
        refused = httpx.post(f"{server.url}/predict", json={"records": [wrong]})
        assert refused.status_code == 422 and "Age (years)" in refused.text
        exposition = httpx.get(f"{server.url}/metrics").text
        assert 'lockship_flagged_values_total{feature="Visit date_year",reason="above_max"} 1.0' in exposition
        assert 'lockship_flagged_values_total{feature="Region",reason="unknown_category"} 1.0' in exposition
    finally:
        server.stop()
    from lockship.serving.logformat import log_files, read_input_log

    flagged = [flag for path in log_files(log_dir) for batch in read_input_log(path) for flag in batch.flagged]
    assert sorted(flagged) == [(1, "Region", "unknown_category"), (1, "Visit date_year", "above_max")]


def test_init_never_overwrites_without_force_and_installs_hooks(git_repo: Path, tmp_path: Path) -> None:
    messy_table(3).to_csv(git_repo / "table.csv", index=False)
    run("dvc", "init", "-q", cwd=git_repo)  # a repository that already has DVC
    (git_repo / "params.yaml").write_text("mine: 1\n")
    url = make_lockship_url(tmp_path)
    code, _, err = lockship("init", "--data", "table.csv", "--target", "outcome", "--repo-url", str(url),
                            cwd=git_repo, check=False)  # fmt: skip
    assert code == 2 and err == "params.yaml: exists with other content; pass --force to overwrite it\n"
    assert (git_repo / "params.yaml").read_text() == "mine: 1\n" and not (git_repo / "dvc.yaml").exists()
    _, said, _ = lockship("init", "--data", "table.csv", "--target", "outcome", "--repo-url", str(url), "--force",
                          cwd=git_repo)  # fmt: skip
    assert "params.yaml: overwritten" in said and ".dvc: created" not in said
    assert "outcome" in (git_repo / "params.yaml").read_text()
    assert (git_repo / ".pre-commit-config.yaml").exists() and (git_repo / ".git/hooks/pre-commit").exists()
    # Switching the repository to other data is the same command.
    messy_table(5).rename(columns={"outcome": "severity"}).to_parquet(git_repo / "other.parquet", index=False)
    _, said, _ = lockship("init", "--data", "other.parquet", "--target", "severity", "--no-hooks", "--force",
                          cwd=git_repo)  # fmt: skip
    assert "other.parquet.dvc: written" in said and "params.yaml: overwritten" in said
    assert "schema.yaml: overwritten" in said and "dvc.yaml: overwritten" in said
    params = yaml.safe_load((git_repo / "params.yaml").read_text())["prepare"]
    assert (params["source"], params["target"]) == ("other.parquet", "severity")
    assert yaml.safe_load((git_repo / "schema.yaml").read_text())["target"] == "severity"
    code, _, err = lockship("init", "--data", "table.csv", "--target", "label", "--no-hooks", cwd=git_repo,
                            check=False)  # fmt: skip
    assert code == 2 and err.startswith("table.csv: no column 'label' (--target); columns are: Patient ID, row,")


def test_the_plot_template_init_writes_is_lockships_own() -> None:
    assert (REPO_ROOT / ".dvc" / "plots" / "per_class.json").read_text() == PER_CLASS_TEMPLATE
