"""What git history settles about deps whose outputs are not at hand.

With the real DVC: tests/hooks/test_check_lock_overlap.py.
"""

from __future__ import annotations

from pathlib import Path

from lockship.core.dvc.history import History, Source, judge
from tests.conftest import run
from tests.conftest import write_files as write

A, B, X, Y = "a" * 32 + ".dir", "b" * 32 + ".dir", "c" * 32 + ".dir", "d" * 32 + ".dir"


def lock(dep: str, out: str, nfiles: int = 2) -> str:
    return (
        "schema: '2.0'\nstages:\n"
        f"  gen:\n    cmd: g\n    outs:\n    - path: runs/x\n      md5: {out}\n      nfiles: {nfiles}\n"
        f"  report:\n    cmd: r\n    deps:\n    - path: runs\n      md5: {dep}\n"
    )


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    write(repo, files)
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qm", message, cwd=repo)
    return run("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()


def verdict(repo: Path, dep_md5: str, out_md5: str, dep_path: str = "runs") -> tuple[str, str]:
    source = Source("dvc.lock", "gen", "runs/x")
    return judge(
        History(str(repo)),
        lockfile="dvc.lock",
        stage="report",
        dep="runs",
        dep_path=dep_path,
        md5=dep_md5,
        overlapping={"runs/x": (out_md5, source)},
    )


def test_the_commit_that_gave_the_entry_its_hash_is_when_it_was_locked(git_repo: Path) -> None:
    first = commit(git_repo, {"dvc.lock": lock(A, X), "runs/notes.md": "n\n"}, "both locked")
    commit(git_repo, {"README.md": "docs\n"}, "docs")
    history = History(str(git_repo))
    assert history.locked_at("dvc.lock", "report", "runs", A) == first
    assert verdict(git_repo, A, X) == ("same", "")
    commit(git_repo, {"dvc.lock": lock(A, Y)}, "gen re-run, report not")
    found, why = verdict(git_repo, A, Y)
    assert found == "changed"
    since = f"since 'report' was locked in {first[:8]}"
    assert why == f"runs/x {since}: md5 cccccccc -> dddddddd, as recorded in dvc.lock (outs of 'gen')"
    assert History(str(git_repo)).locked_at("dvc.lock", "report", "runs", B) is None  # not HEAD's entry


def test_tracked_files_under_the_dep_and_files_inside_an_output(git_repo: Path) -> None:
    commit(git_repo, {"dvc.lock": lock(A, X), "runs/notes.md": "n\n"}, "locked")
    write(git_repo, {"runs/notes.md": "n2\n"})
    assert verdict(git_repo, A, X)[0] == "changed"
    write(git_repo, {"runs/notes.md": "n\n", "runs/new.md": "untracked\n"})
    assert verdict(git_repo, A, X)[0] == "unknown"
    (git_repo / "runs" / "new.md").unlink()
    commit(git_repo, {"dvc.lock": lock(A, Y)}, "gen re-run")
    assert verdict(git_repo, A, Y, "runs/x/a.txt")[0] == "unknown"  # several files: any may have changed
    commit(git_repo, {"dvc.lock": lock(B, X, nfiles=1)}, "both re-locked, one file")
    commit(git_repo, {"dvc.lock": lock(B, Y, nfiles=1)}, "gen re-run")
    assert verdict(git_repo, B, Y, "runs/x/a.txt")[0] == "changed"  # its only file is the dep


def test_a_shallow_clone_cannot_tell_where_a_value_began(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {"dvc.lock": lock(A, X)}, "locked")
    commit(git_repo, {"dvc.lock": lock(A, Y)}, "gen re-run")
    shallow = tmp_path / "shallow"
    run("git", "clone", "-q", "--depth", "1", f"file://{git_repo}", str(shallow), cwd=tmp_path)
    assert verdict(shallow, A, Y)[0] == "unknown"
    assert verdict(git_repo, A, Y)[0] == "changed"
