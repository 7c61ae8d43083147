"""gate-metrics on a push that touches no metrics, against `git rev-parse` in the same repo.

The repo holds a dvc.yaml with metrics, a rules section in params.yaml and --files source files; the
pushed commit changes only code. Each command runs as a process with the environment pre-commit
gives a pre-push hook, alternating, best of N. For context the same run also times a push that does
change metrics (the full comparison with GitPython) and a bare `python -c pass`.

    python bench/gate_metrics.py [--files 2000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DVC_YAML = """\
stages:
  evaluate:
    cmd: python evaluate.py
    metrics:
      - metrics.json:
          cache: false
"""
RULES = "lockship:\n  gate_metrics:\n    metrics:\n      accuracy: {min: 0.8, max_drop: 0.01}\n"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(("git", *args), cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(folder: Path, files: int) -> tuple[str, str, str]:
    """(base, code-only commit, metrics commit)"""
    git("init", "-q", "-b", "main", cwd=folder)
    for index in range(files):
        path = folder / "src" / f"pkg{index % 50}" / f"module{index}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"VALUE = {index}\n")
    (folder / "dvc.yaml").write_text(DVC_YAML)
    (folder / "params.yaml").write_text(RULES)
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.95}))
    git("add", "-A", cwd=folder)
    git("-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qm", "base", cwd=folder)
    base = git("rev-parse", "HEAD", cwd=folder)
    (folder / "src" / "pkg0" / "module0.py").write_text("VALUE = -1\n")
    git("-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qam", "code", cwd=folder)
    code = git("rev-parse", "HEAD", cwd=folder)
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.951}))
    git("-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qam", "metrics", cwd=folder)
    return base, code, git("rev-parse", "HEAD", cwd=folder)


def timed(command: list[str], folder: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    script = shutil.which("lockship-gate-metrics")
    if script is None:
        raise SystemExit("lockship-gate-metrics is not on PATH; install lockship first")
    with tempfile.TemporaryDirectory(prefix="lockship-bench-") as temporary:
        folder = Path(temporary)
        base, code, metrics = make_repo(folder, args.files)
        hook_env = {**os.environ, "PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_REMOTE_NAME": "origin"}
        hook_env["PRE_COMMIT_REMOTE_BRANCH"] = "refs/heads/main"
        commands = {
            "git rev-parse": (["git", "rev-parse", "HEAD"], dict(os.environ)),
            "python -c pass": ([sys.executable, "-c", "pass"], dict(os.environ)),
            "gate-metrics, no-op push": ([script], {**hook_env, "PRE_COMMIT_TO_REF": code}),
            "gate-metrics, metrics changed": ([script], {**hook_env, "PRE_COMMIT_TO_REF": metrics}),
        }
        for command, env in commands.values():  # warm caches and check each command succeeds
            timed(command, folder, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, (command, env) in commands.items():
                times[name].append(timed(command, folder, env))
    best = {name: min(values) for name, values in times.items()}
    baseline = best["git rev-parse"]
    lines = [f"repo: {args.files} source files, metrics in dvc.yaml; best of {args.repeat}, alternating"]
    for name, seconds in best.items():
        lines.append(f"{name:<32} {seconds * 1000:8.1f} ms   {seconds / baseline:6.1f}x git rev-parse")
    noop, interpreter = best["gate-metrics, no-op push"], best["python -c pass"]
    lines.append(f"no-op push vs git rev-parse: ratio {noop / baseline:.1f}")
    lines.append(
        f"(python startup alone: ratio {interpreter / baseline:.1f}; no-op beyond startup: {noop - interpreter:.3f} s)"
    )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
