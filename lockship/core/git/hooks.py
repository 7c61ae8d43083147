"""The git hooks that pre-commit installs: where they live, and the pre-commit that installs them."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.git.repo import run_git, toplevel

HOOK_TYPES = ("pre-commit", "pre-push")
REPLACED_SUFFIX = ".lockship-replaced"  # a hook `lockship install` replaced, kept for `lockship uninstall`


def repo_root(path: str) -> Path:
    """The top of the work tree holding `path`; a LockshipError when there is none."""
    if not Path(path).is_dir():
        raise LockshipError(f"{path}: no such directory", exit_code=EXIT_USAGE)
    found = toplevel(path)
    if found is None:
        raise LockshipError(f"{path}: not a git repository (or a bare one): nothing to install hooks into")
    return found


def hooks_dir(root: Path) -> Path:
    hooks_path = run_git("config", "--get", "core.hooksPath", cwd=root).stdout.strip()
    if hooks_path:
        raise LockshipError(
            f"{root}: git config core.hooksPath is set to '{hooks_path}'; pre-commit will not install there. "
            "Unset it (git config --unset core.hooksPath) or call lockship from the hooks you manage."
        )
    return root / run_git("rev-parse", "--git-path", "hooks", cwd=root).stdout.strip()


def precommit_command() -> list[str]:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    if shutil.which("pre-commit"):
        return ["pre-commit"]
    raise LockshipError("pre-commit: not installed; install it first (pip install pre-commit)", exit_code=EXIT_USAGE)


def run_precommit(command: Sequence[str], action: str, root: Path) -> None:
    """`pre-commit install` or `uninstall` for every hook type lockship uses; a failure raises with its output."""
    result = subprocess.run(
        [*command, action, *(arg for hook_type in HOOK_TYPES for arg in ("--hook-type", hook_type))],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise LockshipError(f"{root}: pre-commit {action} failed: {(result.stdout + result.stderr).strip()}")
