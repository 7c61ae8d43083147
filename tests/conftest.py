"""Shared fixtures: an isolated git/DVC environment, real repositories in tmp_path, a copy of this project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockship.core.numerics import pin_from_params

REPO_ROOT = Path(__file__).resolve().parent.parent
# Before any test module imports numpy: stages called in-process compute as `dvc repro` does.
pin_from_params(REPO_ROOT / "params.yaml")


def run(
    *args: str | Path, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a real command; on an unexpected exit code show everything it printed."""
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session", autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the developer's git, DVC and pre-commit configuration out of every test, and ours out of theirs.

    Session-scoped so that module- and session-scoped fixtures run in the same environment as tests.
    """
    home = tmp_path_factory.mktemp("home")
    (home / "gitconfig").write_text(
        "[user]\n\tname = lockship tests\n\temail = tests@lockship.invalid\n"
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        # The venv's tools (dvc, pre-commit, lockship-*) are found even when pytest runs without activation.
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        patch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("DVC_NO_ANALYTICS", "1")
        patch.setenv("DVC_SITE_CACHE_DIR", str(home / "dvc-site-cache"))
        patch.setenv("DVC_GLOBAL_CONFIG_DIR", str(home / "dvc-global"))
        patch.setenv("DVC_SYSTEM_CONFIG_DIR", str(home / "dvc-system"))
        patch.setenv("PRE_COMMIT_HOME", str(home / "pre-commit"))
        # What pre-commit sets for a hook (push refs, remote, branch) would steer the hooks under test.
        inherited = [name for name in os.environ if name.startswith("PRE_COMMIT_") and name != "PRE_COMMIT_HOME"]
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", *inherited):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    """A copy of the reference params.yaml."""
    path = tmp_path / "params.yaml"
    path.write_text((REPO_ROOT / "params.yaml").read_text())
    return path


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run("git", "init", "-q", cwd=repo)
    return repo


@pytest.fixture
def dvc_repo(git_repo: Path) -> Path:
    """An empty git repository with DVC initialised and committed."""
    run("dvc", "init", "-q", cwd=git_repo)
    run("git", "commit", "-qm", "dvc init", cwd=git_repo)
    return git_repo


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write text files below `root`, creating their folders."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def copy_project(destination: Path) -> Path:
    """This project's files as git sees them (tracked and untracked, minus ignored), committed in a new repo."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO_ROOT).stdout
    destination.mkdir(parents=True)
    for name in sorted(set(filter(None, listed.split("\0")))):
        source = REPO_ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree but not yet in the index
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)
    run("git", "init", "-q", "--initial-branch", "main", cwd=destination)
    run("git", "add", "-A", cwd=destination)
    # An explicit identity: bench/ scripts copy the project outside pytest's isolated git config.
    run(
        "git",
        "-c",
        "user.name=lockship tests",
        "-c",
        "user.email=tests@lockship.invalid",
        "commit",
        "-qm",
        "copy of lockship",
        cwd=destination,
    )
    return destination


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh clone-like copy of this project, with no DVC cache and no pipeline outputs."""
    return copy_project(tmp_path / "project")


def billion_laughs(name: str = "lol", levels: int = 10) -> str:
    """A YAML mapping whose `{name}{levels}` key stands for 10**levels scalars through nested aliases."""
    lines = [f"{name}0: &{name}0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    for level in range(1, levels + 1):
        lines.append(f"{name}{level}: &{name}{level} [{', '.join([f'*{name}{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def run_limited(
    *args: str | Path, cwd: Path, memory_mb: int = 1024, cpu_seconds: int = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command under hard limits on address space and CPU time: a runaway is killed, not waited for."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))

    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False, preexec_fn=limit
    )
