"""check-data, check-params and guard-data through the real pre-commit framework on real `git commit`s.

The repository's `.pre-commit-config.yaml` points at a committed copy of this project, so pre-commit
reads the real `.pre-commit-hooks.yaml` and builds the hooks' environment from the real package.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import run
from tests.hooks.conftest import use_hooks

SCHEMA = """\
files: [data/*.csv]
min_rows: 1
columns:
  height: {dtype: float64, nullable: false, min: 100.0, max: 220.0}
  label: {dtype: int64, nullable: false, allowed: [0, 1]}
"""


def head(repo: Path) -> str:
    return run("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()


def commit(repo: Path, files: dict[str, str], *, forced: tuple[str, ...] = ()) -> tuple[bool, str]:
    """Write, stage and commit; (whether the commit was made, everything the hooks printed)."""
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    run("git", "add", "-A", cwd=repo)
    if forced:
        run("git", "add", "-f", *forced, cwd=repo)
    before = head(repo)
    result = run("git", "commit", "-m", "change", cwd=repo, check=False)
    made = result.returncode == 0
    assert made == (head(repo) != before)
    return made, result.stdout + result.stderr


@pytest.fixture
def data_repo(git_repo: Path, hooks_repo: tuple[Path, str]) -> Path:
    (git_repo / "schema.yaml").write_text(SCHEMA)
    (git_repo / "README.md").write_text("data\n")
    run("git", "add", "-A", cwd=git_repo)
    run("git", "commit", "-qm", "schema", cwd=git_repo)
    use_hooks(git_repo, hooks_repo, ["check-data"])
    return git_repo


def test_check_data_blocks_a_bad_staged_file_and_allows_a_good_one(data_repo: Path) -> None:
    made, output = commit(data_repo, {"data/a.csv": "height,label\n150,0\n300,1\n160,2\n"})
    assert not made
    assert "data/a.csv: row 2, column 'height': 300.0 is above the maximum 220.0" in output
    assert "data/a.csv: row 3, column 'label': 2 is not an allowed value (0, 1)" in output
    made, output = commit(data_repo, {"data/a.csv": "height,label\n150,0\n200,1\n"})
    assert made, output


def test_check_data_skips_files_the_schema_does_not_govern(data_repo: Path) -> None:
    made, output = commit(data_repo, {"other/notes.csv": "free,form\nanything,goes\n"})
    assert made, output


def test_check_data_reports_a_broken_schema(data_repo: Path) -> None:
    made, output = commit(data_repo, {"schema.yaml": "files: [\n", "data/a.csv": "height,label\n150,0\n"})
    assert not made
    assert "schema.yaml:2:1: invalid YAML" in output


@pytest.fixture
def unpulled(project: Path, hooks_repo: tuple[Path, str]) -> Path:
    """This project as a fresh clone sees it: DVC's data was never pulled (no data/, models/)."""
    assert not (project / "data" / "prepared" / "train.csv").exists()
    assert not (project / "models" / "model.skops").exists()
    use_hooks(project, hooks_repo, ["check-params", "guard-data", "check-data"])
    return project


def test_a_repo_whose_data_was_never_pulled_commits_ordinary_changes(unpulled: Path) -> None:
    made, output = commit(unpulled, {"NOTES.md": "notes\n"})
    assert made, output
    params = (unpulled / "params.yaml").read_text()
    made, output = commit(unpulled, {"params.yaml": params.replace("test_size: 0.2", "test_size: 0.25")})
    assert made, output


def test_check_params_blocks_a_param_dvc_yaml_reads_going_missing(unpulled: Path) -> None:
    params = (unpulled / "params.yaml").read_text()
    assert "  target: target\n" in params
    made, output = commit(unpulled, {"params.yaml": params.replace("  target: target\n", "")})
    assert not made
    assert "stage 'train': param 'prepare.target' not found in params.yaml" in output


def test_check_params_blocks_broken_yaml_with_line_and_column(unpulled: Path) -> None:
    made, output = commit(unpulled, {"params.yaml": "prepare:\n  seed: [42\n"})
    assert not made
    assert "params.yaml:3:1: invalid YAML" in output


def test_check_params_blocks_a_value_outside_its_declared_range(unpulled: Path) -> None:
    # The project may declare rules of its own: the test's replace them, beside the stages' numerics.
    data = yaml.safe_load((unpulled / "params.yaml").read_text())
    rules = {"prepare.test_size": {"type": "number", "min": 0.05, "max": 0.5}}
    data["lockship"] = {"numerics": data["lockship"]["numerics"], "params": rules}
    params = yaml.safe_dump(data, sort_keys=False)
    made, output = commit(unpulled, {"params.yaml": params})
    assert made, output
    made, output = commit(unpulled, {"params.yaml": params.replace("test_size: 0.2", "test_size: 0.9")})
    assert not made
    assert "prepare.test_size: must be at most 0.5, got 0.9" in output


def test_guard_data_blocks_data_and_models_but_not_dvc_s_git_outputs(unpulled: Path) -> None:
    made, output = commit(unpulled, {"exports/table.parquet": "not really parquet\n"})
    assert not made
    assert "git rm --cached exports/table.parquet && dvc add exports/table.parquet" in output
    run("git", "reset", "-q", cwd=unpulled)
    (unpulled / "exports" / "table.parquet").unlink()
    # metrics.json and plots/*.csv are `cache: false` outputs: they belong in git.
    made, output = commit(unpulled, {"metrics.json": '{"accuracy": 1.0}\n', "plots/roc.csv": "fpr,tpr\n0,0\n"})
    assert made, output


def test_guard_data_blocks_a_dvc_output_forced_into_git(unpulled: Path) -> None:
    made, output = commit(unpulled, {"models/model.skops": "weights\n"}, forced=("models/model.skops",))
    assert not made
    assert "models/model.skops: tracked by DVC (dvc.yaml:" in output
    assert "git rm --cached models/model.skops" in output


def test_guard_data_blocks_a_large_file_of_any_name(unpulled: Path) -> None:
    made, output = commit(unpulled, {"blob.txt": "x" * 600 * 1024})
    assert not made
    assert "blob.txt: 600 KB, over the 500 KB limit for files in git" in output


def test_check_data_blocks_a_dvc_add_of_bad_data_and_notes_data_a_clone_lacks(
    data_repo: Path, hooks_repo: tuple[Path, str], tmp_path: Path
) -> None:
    run("dvc", "init", "-q", cwd=data_repo)
    (data_repo / "data").mkdir()
    (data_repo / "data" / "a.csv").write_text("height,label\n150,0\n300,1\n")
    run("dvc", "add", "-q", "data/a.csv", cwd=data_repo)
    made, output = commit(data_repo, {})
    assert not made
    assert "data/a.csv: row 2, column 'height': 300.0 is above the maximum 220.0" in output
    (data_repo / "data" / "a.csv").write_text("height,label\n150,0\n200,1\n")
    run("dvc", "add", "-q", "data/a.csv", cwd=data_repo)
    made, output = commit(data_repo, {})
    assert made, output
    # A clone without `dvc pull`: a change to the .dvc file commits, with a note that its data was not checked.
    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(data_repo), str(clone), cwd=tmp_path)
    assert not (clone / "data" / "a.csv").exists()
    use_hooks(clone, hooks_repo, [{"id": "check-data", "verbose": True}])
    dvc_file = (clone / "data" / "a.csv.dvc").read_text()
    made, output = commit(clone, {"data/a.csv.dvc": dvc_file + "desc: heights\n"})
    assert made, output
    assert "note: data/a.csv: not in the work tree, not checked" in output
