"""The scratch worktree: a detached checkout of a commit, gone afterwards unless kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.git.worktree import scratch_worktree
from tests.conftest import run


@pytest.fixture
def repo(git_repo: Path) -> Path:
    (git_repo / "a.txt").write_text("committed\n")
    run("git", "add", "a.txt", cwd=git_repo)
    run("git", "commit", "-qm", "a", cwd=git_repo)
    # A hook that would write into the scratch tree: it must not run there.
    hook = git_repo / ".git/hooks/post-checkout"
    hook.write_text("#!/bin/sh\ntouch hooked\n")
    hook.chmod(0o755)
    (git_repo / "a.txt").write_text("edited, not committed\n")
    return git_repo


def test_the_scratch_tree_holds_the_commit_and_is_removed(repo: Path) -> None:
    commit = run("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()
    with scratch_worktree(repo, commit) as tree:
        assert (tree / "a.txt").read_text() == "committed\n"
        assert not (tree / "hooked").exists()
        assert run("git", "rev-parse", "HEAD", cwd=tree).stdout.strip() == commit
        (tree / "a.txt").write_text("changed in the scratch tree\n")
    assert not tree.exists()
    assert len(run("git", "worktree", "list", cwd=repo).stdout.splitlines()) == 1
    assert (repo / "a.txt").read_text() == "edited, not committed\n"


def test_a_kept_tree_stays_registered(repo: Path) -> None:
    with pytest.raises(RuntimeError), scratch_worktree(repo, "HEAD", keep=True) as tree:
        raise RuntimeError("a failure inside keeps the tree too")
    assert (tree / "a.txt").is_file()
    assert str(tree) in run("git", "worktree", "list", cwd=repo).stdout
    run("git", "worktree", "remove", "--force", tree, cwd=repo)
