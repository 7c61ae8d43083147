"""gate-metrics: the pure comparison, `main` on real git repos, and real `git push` through pre-commit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lockship.hooks import gate_metrics
from tests.conftest import run
from tests.hooks.conftest import outside_git, use_hooks

DVC_YAML = """\
stages:
  evaluate:
    cmd: python evaluate.py
    metrics:
      - metrics.json:
          cache: false
"""
RULES = """\
lockship:
  gate_metrics:
    metrics:
      accuracy: {min: 0.8, max_drop: 0.01}
      loss: {direction: lower, max_relative_drop: 0.1}
"""
GOOD = {"accuracy": 0.95, "loss": 0.30}


def commit(repo: Path, message: str, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qm", message, cwd=repo)
    return run("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()


def metrics(**values: float) -> str:
    return json.dumps(values)


@pytest.fixture
def pushed(git_repo: Path, tmp_path: Path) -> Path:
    """A repo whose main, with good metrics and rules, is pushed to a local bare remote `origin`."""
    run("git", "init", "-q", "--bare", tmp_path / "remote.git", cwd=tmp_path)
    commit(git_repo, "base", {"dvc.yaml": DVC_YAML, "params.yaml": RULES, "metrics.json": metrics(**GOOD)})
    run("git", "remote", "add", "origin", tmp_path / "remote.git", cwd=git_repo)
    run("git", "push", "-q", "-u", "origin", "main", cwd=git_repo)
    return git_repo


@pytest.fixture
def in_repo(pushed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(pushed)
    return pushed


def status(repo: Path) -> str:
    """Work tree, index and refs: what a hook must leave untouched."""
    refs = run("git", "for-each-ref", cwd=repo).stdout
    return run("git", "status", "--porcelain", "--ignored", cwd=repo).stdout + refs


# --- main on real repositories ----------------------------------------------------------------------


def test_regression_fails_with_a_table(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(in_repo, "worse", {"metrics.json": metrics(accuracy=0.90, loss=0.31)})
    assert gate_metrics.main([]) == 1
    out, err = capsys.readouterr()
    assert "| accuracy | 0.95 | 0.9 | -0.05 | higher is better, min 0.8, drop <= 0.01 | FAIL" in out
    assert "| loss | 0.3 | 0.31 | +0.01 | lower is better, drop <= 10.00% | pass |" in out
    assert err.splitlines() == ["metrics.json: metric 'accuracy': worse by 0.05, allowed 0.01 (base 0.95, new 0.9)"]


def test_change_within_tolerance_passes(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(in_repo, "same-ish", {"metrics.json": metrics(accuracy=0.945, loss=0.32)})
    assert gate_metrics.main([]) == 0
    assert "| accuracy | 0.95 | 0.945 | -0.005 |" in capsys.readouterr().out


def test_lower_is_better_and_floor(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(in_repo, "loss up", {"metrics.json": metrics(accuracy=0.95, loss=0.5)})
    assert gate_metrics.main([]) == 1
    assert "metric 'loss': worse by 0.2, allowed 0.03" in capsys.readouterr().err
    assert gate_metrics.main(["--base", "HEAD", "--new", "HEAD"]) == 0  # same commit: nothing changed
    commit(in_repo, "floor", {"params.yaml": RULES.replace("min: 0.8", "min: 0.99")})
    assert gate_metrics.main(["--base", "HEAD~1"]) == 1
    assert "0.95 is below the minimum 0.99" in capsys.readouterr().err


def test_push_not_touching_metrics_skips_without_gitpython(in_repo: Path) -> None:
    commit(in_repo, "code", {"evaluate.py": "print('hi')\n"})
    script = "import sys; from lockship.hooks.gate_metrics import main; rc = main([]); print('git' in sys.modules, rc)"
    result = run(sys.executable, "-c", script, cwd=in_repo)
    assert "skipped" in result.stdout
    assert result.stdout.splitlines()[-1] == "False 0"


def test_metric_on_one_side_only(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(in_repo, "lost loss", {"metrics.json": metrics(accuracy=0.95, f1=0.9)})
    assert gate_metrics.main([]) == 1
    out, err = capsys.readouterr()
    assert "| f1 | — | 0.9 | — | not gated | new |" in out
    assert err.splitlines() == [
        "metrics.json: metric 'loss' is on the base "
        + err.split("base ")[1].split()[0]
        + " but missing from the pushed commit"
    ]


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"accuracy": NaN, "loss": 0.3}', "NaN"),
        ('{"accuracy": "n/a", "loss": 0.3}', "a string ('n/a')"),
        ('{"accuracy": null, "loss": 0.3}', "null"),
        ('{"accuracy": Infinity, "loss": 0.3}', "infinite"),
    ],
)
def test_a_metric_that_is_not_a_number_is_called_that(
    in_repo: Path, capsys: pytest.CaptureFixture[str], text: str, what: str
) -> None:
    commit(in_repo, "broken metric", {"metrics.json": text})
    assert gate_metrics.main([]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"metrics.json: metric 'accuracy' is not a number in the pushed commit: {what}"]
    assert "| accuracy | 0.95 | — | — | higher is better, min 0.8, drop <= 0.01 | FAIL: not a number |" in out
    # With no base to compare with, the rule still names what the value is, not "matches no metric".
    run("git", "checkout", "-q", "--orphan", "fresh", cwd=in_repo)
    commit(in_repo, "fresh", {"metrics.json": text})
    assert gate_metrics.main(["--remote", "origin"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"metrics.json: metric 'accuracy' is not a number in the pushed commit: {what}"
    ]


def test_metrics_file_missing_or_not_json(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = status(in_repo)
    run("git", "rm", "-q", "metrics.json", cwd=in_repo)
    run("git", "commit", "-qm", "gone", cwd=in_repo)
    assert gate_metrics.main([]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("metrics.json: declared in dvc.yaml but not in commit ")
    commit(in_repo, "broken", {"metrics.json": '{"accuracy": 0.9,\n'})
    head = run("git", "rev-parse", "--short=7", "HEAD", cwd=in_repo).stdout.strip()
    after = status(in_repo)
    assert gate_metrics.main([]) == 1
    assert (
        capsys.readouterr().err
        == f"metrics.json@{head}:2: not valid JSON: Expecting property name enclosed in double quotes\n"
    )
    assert status(in_repo) == after and before != after


def test_no_metrics_on_base_pass_or_fail(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = commit(in_repo, "no metrics yet", {"dvc.yaml": "stages: {}\n"})
    commit(in_repo, "metrics", {"dvc.yaml": DVC_YAML})
    assert gate_metrics.main(["--base", base]) == 0
    assert f"no metrics on the base (no metrics file in the base {base[:7]}); missing_base is 'pass'" in (
        capsys.readouterr().out
    )
    strict = RULES.replace("gate_metrics:\n", "gate_metrics:\n    missing_base: fail\n")
    (in_repo / "strict.yaml").write_text(strict)
    assert gate_metrics.main(["--base", base, "--config", "strict.yaml"]) == 1
    assert capsys.readouterr().err == (
        f"strict.yaml:2: no metrics on the base (no metrics file in the base {base[:7]}); missing_base is 'fail'\n"
    )


def test_path_rule_and_rule_matching_nothing(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = "lockship:\n  gate_metrics:\n    metrics:\n"
    rules += "      'metrics.json:accuracy': {max_drop: 0}\n      acuracy: {min: 1}\n"
    commit(in_repo, "rules", {"params.yaml": rules, "metrics.json": metrics(accuracy=0.96, loss=0.3)})
    assert gate_metrics.main([]) == 1
    assert capsys.readouterr().err.splitlines() == ["params.yaml:2: rule for 'acuracy' matches no metric"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("not-git", "not a git repository"),
        ("detached", "HEAD is detached: cannot tell which branch this is pushed to; pass --base REF"),
        ("no-remote", "no git remote: nothing to compare metrics with; add a remote or pass --base REF"),
        (
            "no-target",
            "remote 'origin' has neither 'topic' nor a default branch to compare with; fetch it or pass --base REF",
        ),
        ("bad-yaml", "params.yaml:4:27: invalid YAML: did not find expected node content"),
        ("bad-dvc-yaml", ":3:11: invalid YAML: mapping values are not allowed in this context"),
        ("bad-rule", "params.yaml:4: lockship.gate_metrics.metrics.accuracy.direction: 'up' is not one of"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    setup: str,
    message: str,
    in_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = in_repo
    if setup == "not-git":
        repo = outside_git(tmp_path, monkeypatch)
    elif setup == "detached":
        run("git", "checkout", "-q", "--detach", cwd=repo)
    elif setup == "no-remote":
        run("git", "remote", "remove", "origin", cwd=repo)
    elif setup == "no-target":
        run("git", "update-ref", "-d", "refs/remotes/origin/main", cwd=repo)
        run("git", "checkout", "-q", "-b", "topic", cwd=repo)
    elif setup == "bad-yaml":
        commit(repo, "bad", {"params.yaml": RULES.replace("{min: 0.8,", "{min: 0.8,,]"), "metrics.json": "{}"})
    elif setup == "bad-dvc-yaml":
        commit(repo, "bad", {"dvc.yaml": "stages:\n  evaluate:\n    cmd: a: b\n", "metrics.json": "{}"})
    elif setup == "bad-rule":
        commit(
            repo, "bad", {"params.yaml": RULES.replace("{min: 0.8", "{direction: up, min: 0.8"), "metrics.json": "{}"}
        )
    before = status(repo) if setup != "not-git" else ""
    assert gate_metrics.main([]) != 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert message in err[0]
    if setup != "not-git":
        assert status(repo) == before


# --- real pushes through pre-commit -----------------------------------------------------------------


def push(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run("git", "push", *args, cwd=repo, check=False)


def remote_tip(repo: Path, branch: str) -> str:
    listed = run("git", "ls-remote", "origin", f"refs/heads/{branch}", cwd=repo).stdout.split()
    return listed[0] if listed else ""


@pytest.fixture
def hooked(pushed: Path, hooks_repo: tuple[Path, str]) -> Path:
    use_hooks(pushed, hooks_repo, [{"id": "gate-metrics", "verbose": True}])
    run("git", "add", ".pre-commit-config.yaml", cwd=pushed)
    run("git", "commit", "-qm", "hooks", "--no-verify", cwd=pushed)
    return pushed


def test_push_blocked_on_regression_and_allowed_when_fixed(hooked: Path) -> None:
    bad = commit(hooked, "worse", {"metrics.json": metrics(accuracy=0.9, loss=0.3)})
    result = push(hooked, "origin", "main")
    assert result.returncode != 0
    assert "metric 'accuracy': worse by 0.05" in result.stdout + result.stderr
    assert remote_tip(hooked, "main") != bad
    good = commit(hooked, "better", {"metrics.json": metrics(accuracy=0.96, loss=0.29)})
    result = push(hooked, "origin", "main")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| accuracy | 0.95 | 0.96 | +0.01 |" in result.stdout + result.stderr
    assert remote_tip(hooked, "main") == good


def test_push_of_a_new_branch_compares_with_where_it_forked(hooked: Path) -> None:
    push(hooked, "origin", "main")
    run("git", "checkout", "-q", "-b", "feature", cwd=hooked)
    commit(hooked, "code", {"evaluate.py": "pass\n"})
    commit(hooked, "worse", {"metrics.json": metrics(accuracy=0.5, loss=0.3)})
    result = push(hooked, "-u", "origin", "feature")
    assert result.returncode != 0 and "0.5 is below the minimum 0.8" in result.stdout + result.stderr
    assert remote_tip(hooked, "feature") == ""
    commit(hooked, "fixed", {"metrics.json": metrics(accuracy=0.95, loss=0.3)})
    assert push(hooked, "-u", "origin", "feature").returncode == 0
    commit(hooked, "code only", {"evaluate.py": "pass  # again\n"})
    result = push(hooked, "origin", "feature")
    assert result.returncode == 0 and "skipped" in result.stdout + result.stderr


def test_force_push_is_compared_with_the_tip_it_replaces(hooked: Path) -> None:
    commit(hooked, "better", {"metrics.json": metrics(accuracy=0.97, loss=0.3)})
    assert push(hooked, "origin", "main").returncode == 0
    run("git", "reset", "-q", "--hard", "HEAD~1", cwd=hooked)
    commit(hooked, "rewritten", {"metrics.json": metrics(accuracy=0.955, loss=0.3)})
    result = push(hooked, "--force", "origin", "main")
    assert result.returncode != 0 and "| accuracy | 0.97 | 0.955 |" in result.stdout + result.stderr
    commit(hooked, "recovered", {"metrics.json": metrics(accuracy=0.965, loss=0.3)})
    result = push(hooked, "--force", "origin", "main")
    assert result.returncode == 0 and "| accuracy | 0.97 | 0.965 |" in result.stdout + result.stderr


def test_first_push_of_a_repository(git_repo: Path, tmp_path: Path, hooks_repo: tuple[Path, str]) -> None:
    run("git", "init", "-q", "--bare", tmp_path / "empty.git", cwd=tmp_path)
    run("git", "remote", "add", "origin", tmp_path / "empty.git", cwd=git_repo)
    use_hooks(git_repo, hooks_repo, [{"id": "gate-metrics", "verbose": True}])
    strict = RULES.replace("gate_metrics:\n", "gate_metrics:\n    missing_base: fail\n")
    commit(git_repo, "first", {"dvc.yaml": DVC_YAML, "params.yaml": strict, "metrics.json": metrics(**GOOD)})
    result = push(git_repo, "-u", "origin", "main")
    assert result.returncode != 0
    assert "has neither 'main' nor a default branch to compare with (first push)" in result.stdout + result.stderr
    commit(git_repo, "lenient", {"params.yaml": RULES})
    result = push(git_repo, "-u", "origin", "main")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "missing_base is 'pass'" in result.stdout


def test_yaml_metrics_declared_in_a_subdirectory_dvc_yaml(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = "stages:\n  eval:\n    cmd: python e.py\n    metrics:\n      - scores/eval.yaml:\n          cache: false\n"
    rules = "lockship:\n  gate_metrics:\n    metrics:\n      'model/scores/eval.yaml:test.auc': {max_drop: 0.02}\n"
    base = commit(in_repo, "sub", {"model/dvc.yaml": sub, "model/scores/eval.yaml": "test:\n  auc: 0.9\n"})
    commit(in_repo, "worse", {"model/scores/eval.yaml": "test:\n  auc: 0.85\n", "params.yaml": rules})
    assert gate_metrics.main(["--base", base]) == 1
    out, err = capsys.readouterr()
    assert "| model/scores/eval.yaml:test.auc | 0.9 | 0.85 | -0.05 |" in out
    assert err == "model/scores/eval.yaml: metric 'test.auc': worse by 0.05, allowed 0.02 (base 0.9, new 0.85)\n"


def test_the_lockship_command_dispatches_here(in_repo: Path) -> None:
    result = run(sys.executable, "-m", "lockship", "gate-metrics", "--base", "HEAD", cwd=in_repo)
    assert "skipped" in result.stdout
