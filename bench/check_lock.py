"""check-lock beside `dvc status`, both as the commands a git hook runs, timed in the same run.

1. The reference repo: a copy of this project after `dvc repro`, committed; a no-op commit is
   `lockship-check-lock` against `dvc status` on the same tree (both warm: DVC's state database and
   check-lock's stat cache filled by a first run).
2. A pipeline with 2,000 git-tracked dependency files (10 foreach stages, each depending on a
   180-file directory and 20 files listed one by one): check-lock with a cold and a warm stat cache,
   and `dvc status`.
3. A repository of 30 `dvc.yaml` files and 1,000 `.dvc` files (each pipeline depends on a directory
   of 33 or 34 `dvc add`-ed files, so every such dep holds outputs recorded in `.dvc` files): check-lock
   with a cold and a warm stat cache, and `dvc status`.

Each figure is the median of --repeat runs; ratios are `dvc status` time over check-lock time.

    python bench/check_lock.py [--reference DIR] [--repeat 5] [--cases 1 2 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import copy_project  # noqa: E402

BIN = Path(sys.executable).parent
GROUPS, FILES_PER_DIR, SINGLE_FILES = 10, 180, 20  # 10 x (180 + 20) = 2,000 dependency files
PIPELINES, TRACKED = 30, 1000  # dvc.yaml files, `.dvc` files


def run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def timed(command: Sequence[str | Path], cwd: Path, env: dict[str, str], repeat: int, expect: int = 0) -> float:
    """Median wall seconds of a command, after one untimed warm-up run."""
    times = []
    for index in range(repeat + 1):
        start = time.perf_counter()
        result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if result.returncode != expect:
            raise SystemExit(f"{command[0]} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        if index:
            times.append(elapsed)
    return statistics.median(times)


def cold(cwd: Path, env: dict[str, str], repeat: int) -> float:
    """check-lock with its stat cache deleted before each run: every file is hashed."""
    times = []
    for _ in range(repeat):
        (cwd / ".dvc" / "tmp" / "lockship-hashes.json").unlink(missing_ok=True)
        start = time.perf_counter()
        subprocess.run([BIN / "lockship-check-lock"], cwd=cwd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def commit(repo: Path, env: dict[str, str]) -> None:
    run("git", "add", "-A", cwd=repo, env=env)
    # Empty when the run changed nothing git tracks (dvc.lock and package/image.json already current).
    run("git", "commit", "-qm", "bench", "--allow-empty", cwd=repo, env=env)


def reference(work: Path, env: dict[str, str]) -> Path:
    """This project as git sees it, reproduced with `dvc repro` and committed."""
    repo = copy_project(work / "reference")  # committed: the package stage stamps its image with the commit
    run("dvc", "repro", "-q", cwd=repo, env=env)
    commit(repo, env)
    return repo


def synthetic(work: Path, env: dict[str, str]) -> Path:
    """10 foreach stages; each reads a 180-file directory and 20 files listed one by one: 2,000 deps."""
    repo = work / "synthetic"
    for group in range(GROUPS):
        for index in range(FILES_PER_DIR + SINGLE_FILES):
            folder = "lib" if index < FILES_PER_DIR else "single"
            path = repo / "src" / f"g{group}" / folder / f"m{index:03d}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# group {group}, module {index}\n" + "x = 1\n" * 200)
    singles = "".join(
        f"        - src/g${{item}}/single/m{i:03d}.py\n" for i in range(FILES_PER_DIR, FILES_PER_DIR + 20)
    )
    (repo / "params.yaml").write_text("groups: " + str(list(range(GROUPS))) + "\nbuild:\n  level: 3\n")
    (repo / "dvc.yaml").write_text(
        "stages:\n  build:\n    foreach: ${groups}\n    do:\n"
        "      cmd: python -c \"open('out/g${item}.txt', 'w').write('${item}')\"\n"
        f"      deps:\n        - src/g${{item}}/lib\n{singles}"
        '      params: [build.level]\n      outs: ["out/g${item}.txt"]\n'
    )
    (repo / "out").mkdir()
    run("git", "init", "-q", cwd=repo, env=env)
    run("dvc", "init", "-q", cwd=repo, env=env)
    run("dvc", "repro", "-q", cwd=repo, env=env)
    commit(repo, env)
    return repo


def pipelines(work: Path, env: dict[str, str]) -> Path:
    """30 dvc.yaml files of two stages each; the first reads a directory of `dvc add`-ed files: 1,000 `.dvc` files."""
    repo = work / "pipelines"
    stage = (
        "stages:\n  prep:\n    cmd: python src.py\n    deps: [src.py, data]\n    params: [prep.level]\n"
        "    outs: [prep.txt]\n  train:\n    cmd: python -c \"open('model.txt', 'w').write(open('prep.txt').read())\"\n"
        "    deps: [prep.txt]\n    outs: [model.txt]\n"
    )
    code = "import os\nopen('prep.txt', 'w').write(str(sorted(os.listdir('data'))))\n"
    for number in range(PIPELINES):
        folder = repo / f"p{number:02d}"
        (folder / "data").mkdir(parents=True)
        (folder / "dvc.yaml").write_text(stage)
        (folder / "src.py").write_text(code)
        (folder / "params.yaml").write_text(f"prep:\n  level: {number}\n")
    for index in range(TRACKED):
        path = repo / f"p{index % PIPELINES:02d}" / "data" / f"f{index:04d}.csv"
        path.write_text("a,b\n" + f"{index},{index * 2}\n" * 50)
    run("git", "init", "-q", cwd=repo, env=env)
    run("dvc", "init", "-q", cwd=repo, env=env)
    data = sorted(str(p.relative_to(repo)) for p in repo.glob("p*/data/*.csv"))
    run("dvc", "add", "-q", *data, cwd=repo, env=env)
    run("dvc", "repro", "-q", "--all-pipelines", cwd=repo, env=env)
    commit(repo, env)
    return repo


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, help="an already reproduced and committed copy to reuse")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", type=int, nargs="+", choices=(1, 2, 3), default=[1, 2, 3], help="which to run")
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@lockship.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@lockship.invalid",
    }
    hook, dvc = [BIN / "lockship-check-lock"], [BIN / "dvc", "status", "--quiet"]
    out = sys.stdout.write
    with tempfile.TemporaryDirectory(prefix="lockship-bench-") as temporary:
        work = Path(temporary)
        if 1 in args.cases:
            repo = args.reference or reference(work, env)
            ours, theirs = timed(hook, repo, env, args.repeat), timed(dvc, repo, env, args.repeat)
            out(f"1. reference repo (this project after dvc repro), no-op commit, median of {args.repeat}:\n")
            out(f"   dvc status              {theirs * 1000:8.0f} ms   baseline\n")
            out(f"   lockship-check-lock     {ours * 1000:8.0f} ms   {theirs / ours:5.1f}x faster (target >= 3x)\n")
        if 2 in args.cases:
            repo = synthetic(work, env)
            tracked = run("git", "ls-files", "src", cwd=repo, env=env).stdout.count("\n")
            cold_time = cold(repo, env, args.repeat)
            warm, theirs = timed(hook, repo, env, args.repeat), timed(dvc, repo, env, args.repeat)
            out(f"2. {tracked:,} git-tracked dependency files in {GROUPS} foreach stages, median of {args.repeat}:\n")
            out(f"   dvc status              {theirs * 1000:8.0f} ms   baseline\n")
            out(f"   check-lock, cold cache  {cold_time * 1000:8.0f} ms   {theirs / cold_time:5.1f}x faster\n")
            out(f"   check-lock, warm cache  {warm * 1000:8.0f} ms   {theirs / warm:5.1f}x faster (target < 1000 ms)\n")
        if 3 in args.cases:
            repo = pipelines(work, env)
            yamls = run("git", "ls-files", "*dvc.yaml", cwd=repo, env=env).stdout.count("\n")
            dvcs = run("git", "ls-files", "*.dvc", cwd=repo, env=env).stdout.count("\n")
            cold_time = cold(repo, env, args.repeat)
            warm, theirs = timed(hook, repo, env, args.repeat), timed(dvc, repo, env, args.repeat)
            out(f"3. {yamls} dvc.yaml files and {dvcs:,} .dvc files, median of {args.repeat}:\n")
            out(f"   dvc status              {theirs * 1000:8.0f} ms   baseline\n")
            out(f"   check-lock, cold cache  {cold_time * 1000:8.0f} ms   {theirs / cold_time:5.1f}x faster\n")
            out(f"   check-lock, warm cache  {warm * 1000:8.0f} ms   {theirs / warm:5.1f}x faster\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
