"""Cold install time and size of the environment pre-commit builds for lockship's hooks, beside DVC's.

lockship: the real pre-commit framework installs the hooks of a committed copy of this repository
(`pre-commit install-hooks` with an empty PRE_COMMIT_HOME and no pip cache), which is exactly what a
user's first `git commit` pays. DVC: `pip install dvc[all]` into a fresh virtualenv with no pip cache,
which is what DVC's own hooks need. Both download from the package index in the same run, so the
ratio compares like with like; absolute times depend on the network.

    python bench/hook_env.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import copy_project  # noqa: E402


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")


def tree_size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            file = Path(folder, name)
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def packages(python: Path) -> int:
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True)
    return len(listed.stdout.split())


def lockship_env(work: Path, env: dict[str, str]) -> tuple[float, int, int, bool]:
    """Seconds, bytes and package count of pre-commit's environment, and whether scikit-learn/dvc are in it."""
    hooks_repo = copy_project(work / "lockship")
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hooks_repo, capture_output=True, text=True).stdout.strip()
    user = work / "user"
    user.mkdir()
    run("git", "init", "-q", cwd=user)
    ids = ["check-lock", "check-data", "check-params", "guard-data", "gate-metrics", "check-remote"]
    hooks = "".join(f"      - id: {hook_id}\n" for hook_id in ids)
    config = f"repos:\n  - repo: {hooks_repo}\n    rev: {rev}\n    hooks:\n{hooks}"
    (user / ".pre-commit-config.yaml").write_text(config)
    home = work / "pre-commit-home"
    start = time.perf_counter()
    run("pre-commit", "install-hooks", cwd=user, env={**env, "PRE_COMMIT_HOME": str(home)})
    seconds = time.perf_counter() - start
    envs = [path for path in home.glob("repo*/py_env-*") if path.is_dir()]
    if len(envs) != 1:
        raise SystemExit(f"expected one python environment under {home}, found {envs}")
    python = envs[0] / "bin" / "python"
    heavy = subprocess.run(
        [python, "-c", "import importlib.util as u; print(any(u.find_spec(m) for m in ('sklearn', 'dvc')))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return seconds, tree_size(envs[0]), packages(python), heavy == "True"


def dvc_env(work: Path, env: dict[str, str]) -> tuple[float, int, int]:
    venv = work / "dvc-env"
    start = time.perf_counter()
    run(sys.executable, "-m", "venv", venv, env=env)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "dvc[all]", env=env)
    seconds = time.perf_counter() - start
    return seconds, tree_size(venv), packages(venv / "bin" / "python")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lockship-bench-") as temporary:
        work = Path(temporary)
        env = {
            **os.environ,
            "PIP_NO_CACHE_DIR": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        ours = lockship_env(work, env)
        theirs = dvc_env(work, env)
    mib = 1024 * 1024
    say("environment                        cold install   size       packages")
    say(f"lockship hooks (pre-commit)        {ours[0]:8.1f} s  {ours[1] / mib:7.0f} MiB  {ours[2]:5d}")
    say(f"dvc[all] (DVC's hooks)             {theirs[0]:8.1f} s  {theirs[1] / mib:7.0f} MiB  {theirs[2]:5d}")
    say(f"ratio lockship / dvc[all]: time {ours[0] / theirs[0]:.2f}x, size {ours[1] / theirs[1]:.2f}x")
    say(f"scikit-learn or dvc in lockship's hook environment: {'yes' if ours[3] else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
