"""git helpers on real repositories: files, staged files, commits, what a push adds, remotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.git.repo import (
    choose_remote,
    commit_of,
    default_branch,
    git,
    git_ok,
    ls_files,
    pushed_commits,
    pushed_tip,
    require_repo,
    staged_files,
    toplevel,
)
from tests.conftest import run


def commit(repo: Path, name: str, text: str) -> str:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text)
    run("git", "add", name, cwd=repo)
    run("git", "commit", "-qm", f"add {name}", cwd=repo)
    return run("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()


@pytest.fixture
def in_repo(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(git_repo)
    return git_repo


def test_files_staged_tracked_and_untracked(in_repo: Path) -> None:
    commit(in_repo, "a/dvc.yaml", "stages: {}\n")
    (in_repo / "b.dvc").write_text("outs: []\n")
    (in_repo / "caf\u00e9.csv").write_text("x\n")
    run("git", "add", "caf\u00e9.csv", cwd=in_repo)
    assert ls_files("*dvc.yaml", "*.dvc") == ["a/dvc.yaml"]
    assert ls_files("*dvc.yaml", "*.dvc", untracked=True) == ["a/dvc.yaml", "b.dvc"]
    assert staged_files() == ["caf\u00e9.csv"]  # unquoted, as git would not by default
    assert toplevel(in_repo / "a") == Path(run("git", "rev-parse", "--show-toplevel", cwd=in_repo).stdout.strip())


def test_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert toplevel(plain) is None and git_ok("rev-parse", "HEAD") is None
    for call in (require_repo, staged_files, ls_files):
        with pytest.raises(LockshipError, match=r": not a git repository$"):
            call()
    with pytest.raises(LockshipError, match=r"^git rev-parse: fatal: not a git repository"):
        git("rev-parse", "HEAD")


def test_commits_and_what_a_push_adds(in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = commit(in_repo, "a.txt", "1\n")
    run("git", "init", "-q", "--bare", str(tmp_path / "origin.git"), cwd=tmp_path)
    run("git", "remote", "add", "origin", str(tmp_path / "origin.git"), cwd=in_repo)
    run("git", "push", "-q", "origin", "main", cwd=in_repo)
    second = commit(in_repo, "b.txt", "2\n")
    assert commit_of("HEAD~1") == first and pushed_tip(None) == second
    with pytest.raises(LockshipError) as error:
        commit_of("nope")
    assert (list(error.value.problems), error.value.exit_code) == (["nope: no such commit"], EXIT_USAGE)
    assert pushed_commits(second) == [second]  # what no remote has yet
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "0" * 40)
    monkeypatch.setenv("PRE_COMMIT_REMOTE_NAME", "origin")
    assert pushed_commits(second) == [second]
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", first)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", first)
    assert pushed_tip(None) == first and pushed_commits(second) == [second]


def test_remote_choice_and_default_branch(in_repo: Path, tmp_path: Path) -> None:
    commit(in_repo, "a.txt", "1\n")
    with pytest.raises(LockshipError, match=r"^no git remote"):
        choose_remote(None, "main")
    for name in ("upstream", "origin"):
        run("git", "init", "-q", "--bare", str(tmp_path / f"{name}.git"), cwd=tmp_path)
        run("git", "remote", "add", name, str(tmp_path / f"{name}.git"), cwd=in_repo)
    run("git", "push", "-q", "upstream", "main", cwd=in_repo)
    run("git", "config", "branch.main.remote", "upstream", cwd=in_repo)
    assert choose_remote(None, "main") == "upstream" and choose_remote(None, None) == "origin"
    with pytest.raises(LockshipError, match=r"^git remote 'gone': no such remote \(have: origin, upstream\)$"):
        choose_remote("gone", None)
    assert default_branch("upstream") == "refs/remotes/upstream/main"
    assert default_branch("origin") is None
