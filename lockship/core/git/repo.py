"""The git command line, for hooks and commands: repository root, file lists, commits, remotes and pushes.

pre-commit describes a push through PRE_COMMIT_* environment variables; outside a push (a manual
run) the commit is HEAD and the remote the branch's or the only one.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lockship.core.errors import EXIT_USAGE, LockshipError

ZERO_SHA = "0" * 40  # git's name for "no commit": the old side of a new branch


def run_git(*args: str, cwd: str | os.PathLike[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run git (paths unquoted); only a missing git raises."""
    try:
        return subprocess.run(
            ("git", "-c", "core.quotePath=false", *args), cwd=cwd, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as error:
        raise LockshipError("git: not installed or not on PATH") from error


def git(*args: str, cwd: str | os.PathLike[str] | None = None) -> str:
    """git's output; a failure raises with git's last line of complaint."""
    result = run_git(*args, cwd=cwd)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise LockshipError(f"git {args[0]}: {lines[-1] if lines else 'failed'}")
    return result.stdout


def git_ok(*args: str, cwd: str | os.PathLike[str] | None = None) -> str | None:
    """git's output stripped, or None when git fails (a question whose answer may be no)."""
    result = run_git(*args, cwd=cwd)
    return result.stdout.strip() if result.returncode == 0 else None


def toplevel(path: str | os.PathLike[str] = ".") -> Path | None:
    """The top of the work tree holding `path`, or None outside one (or in a bare repository)."""
    found = git_ok("rev-parse", "--show-toplevel", cwd=path)
    return Path(found) if found else None


def require_repo() -> None:
    """Raise unless the current directory is inside a git repository."""
    if git_ok("rev-parse", "--git-dir") is None:
        raise LockshipError(f"{os.getcwd()}: not a git repository")


def ls_files(*pathspecs: str, cwd: str | os.PathLike[str] = ".", untracked: bool = False) -> list[str]:
    """Files git tracks (and with `untracked`, would track) matching the pathspecs, sorted."""
    extra = ("--others", "--exclude-standard") if untracked else ()
    result = run_git("ls-files", "-z", "--cached", *extra, "--", *pathspecs, cwd=cwd)
    if result.returncode:
        raise LockshipError(f"{os.path.abspath(cwd)}: not a git repository")
    return sorted({name for name in result.stdout.split("\0") if name})


def staged_files() -> list[str]:
    """Files added, copied, modified or renamed in git's index."""
    result = run_git("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR")
    if result.returncode:
        raise LockshipError(f"{os.getcwd()}: not a git repository")
    return sorted(name for name in result.stdout.split("\0") if name)


def commit_of(ref: str) -> str:
    """The full sha of the commit `ref` names."""
    sha = git_ok("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if not sha:
        raise LockshipError(f"{ref}: no such commit", exit_code=EXIT_USAGE)
    return sha


def pushed_tip(new: str | None) -> str:
    """The commit being pushed: `new`, else the one pre-commit names, else HEAD."""
    return commit_of(new or os.environ.get("PRE_COMMIT_TO_REF") or "HEAD")


def pushed_commits(tip: str) -> list[str]:
    """Every commit the push of `tip` adds: those after pre-commit's old tip, else those no remote has."""
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF", ZERO_SHA)
    remote = os.environ.get("PRE_COMMIT_REMOTE_NAME")
    if from_ref != ZERO_SHA:
        excluded = [f"^{from_ref}"]
    elif remote:
        excluded = ["--not", f"--remotes={remote}"]
    else:
        excluded = ["--not", "--remotes"]
    return git("rev-list", tip, *excluded).split()


def choose_remote(explicit: str | None, branch: str | None) -> str:
    """The remote pushed to: named, the push's, the branch's, else origin or the only one."""
    remotes = git("remote").split()
    wanted = explicit or os.environ.get("PRE_COMMIT_REMOTE_NAME")
    if not wanted and branch:
        wanted = git_ok("config", f"branch.{branch}.remote")
    if wanted:
        if wanted not in remotes:
            raise LockshipError(f"git remote '{wanted}': no such remote (have: {', '.join(remotes) or 'none'})")
        return wanted
    if not remotes:
        raise LockshipError("no git remote: nothing to compare metrics with; add a remote or pass --base REF")
    return "origin" if "origin" in remotes else remotes[0]


def default_branch(remote: str) -> str | None:
    """The remote-tracking ref of the remote's default branch (its HEAD, else main or master)."""
    head = git_ok("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD")
    candidates = [head] if head else []
    candidates += [f"refs/remotes/{remote}/main", f"refs/remotes/{remote}/master"]
    return next((ref for ref in candidates if git_ok("rev-parse", "--verify", "--quiet", ref)), None)
