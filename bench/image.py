"""The serving image: size, cold build time with a warm base cache, and the no-op time, in one run.

A committed copy of this repository runs its pipeline up to `evaluate`; then the package stage builds
the image with buildah into fresh container stores (containers.conf/storage.conf under a temp dir,
as the tests do). Baselines measured in the same run: a bare `FROM scratch` + `ADD base.tar` build of
the same Debian base (what any image on this base costs), and one `buildah inspect` (the floor of a
no-op). The Debian base comes from lockship's user cache (built once if missing, not timed).

    python bench/image.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lockship.packaging import baselock  # noqa: E402
from lockship.packaging.base import cache_dir, debian_base  # noqa: E402
from tests.conftest import copy_project  # noqa: E402
from tests.packaging.containers import container_env, session_env  # noqa: E402

TARGET_MB = 350
STAGE = [sys.executable, "-m", "lockship.stages.package"]
ARGS = [
    *("--params", "params.yaml", "--model", "models/model.skops", "--metadata", "models/metadata.json"),
    *("--schema", "schema.yaml", "--profile", "reports/profile.json", "--metrics", "metrics.json"),
    *("--example", "data/prepared/test.csv", "--model-dir", "models/serve"),
    *("--image", "package/image.json", "--build", "package/build.json"),
]


def run(*args: str | Path, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fresh_store(work: Path, name: str, env: dict[str, str]) -> dict[str, str]:
    return {**env, **container_env(work / name)}


def main() -> int:
    lock = baselock.load(ROOT / baselock.BASE_LOCK)
    assert isinstance(lock, baselock.DebianLock), "the bench builds the Debian base"
    debian_base(lock)  # warm the base cache (untimed)
    with tempfile.TemporaryDirectory(prefix="lockship-bench-image-") as scratch:
        work = Path(scratch)
        env = session_env(work)
        project = copy_project(work / "project")
        run("dvc", "repro", "evaluate", cwd=project, env=env)
        base = debian_base(lock)
        assert base.rootfs is not None
        context = work / "base-context"
        context.mkdir()
        os.link(base.rootfs, context / "base.tar")
        (context / "Containerfile").write_text("FROM scratch\nADD base.tar /\n")

        # Cold: empty stores. "warm caches" = base, wheels and bytecode layers cached; "base only" = a
        # lockship cache holding only the base (wheels installed from pip's cache, bytecode compiled).
        stage_args = [*STAGE, *ARGS]
        bare: list[float] = []
        cold: list[float] = []
        cold_base_only: list[float] = []
        ids: set[str] = set()

        def stage(store: dict[str, str], *extra: str) -> dict[str, object]:
            run(*stage_args, *extra, cwd=project, env=store)
            facts: dict[str, object] = json.loads((project / "package" / "build.json").read_text())
            ids.add(str(facts["image_id"]))
            return facts

        for round_ in range(2):
            store = fresh_store(work, f"bare-{round_}", env)
            command = ["buildah", "build", "--isolation=chroot", "--timestamp=0", "--quiet", "-t", "bare", context]
            bare.append(timed(lambda store=store, command=command: run(*command, cwd=work, env=store)))
            store = fresh_store(work, f"cold-{round_}", env)
            cold.append(timed(lambda store=store: stage(store)))
            only_base = work / f"cache-{round_}"
            shutil.copytree(cache_dir() / "base", only_base / "base")
            store = fresh_store(work, f"base-only-{round_}", env) | {"LOCKSHIP_CACHE_DIR": str(only_base)}
            cold_base_only.append(timed(lambda store=store: stage(store)))
        store = fresh_store(work, "cold-0", env)
        facts = stage(store)
        assert facts["built"] is False
        ref = f"localhost/{facts['image']}"
        size = int(str(facts["size"]))
        inspect = [timed(lambda: run("buildah", "inspect", "--type=image", ref, cwd=work, env=store)) for _ in range(5)]
        noop = [timed(lambda: stage(store)) for _ in range(5)]
        forced = stage(store, "--force")

    median = statistics.median
    rows = [
        ("bare base image build (baseline)", median(bare), median(bare)),
        ("cold build, warm base+wheels+bytecode caches", median(cold), median(bare)),
        ("cold build, warm base cache only", median(cold_base_only), median(bare)),
        ("buildah inspect (no-op floor, baseline)", median(inspect), median(inspect)),
        ("no-op package stage (whole process)", median(noop), median(inspect)),
    ]
    lines = [f"image {ref.removeprefix('localhost/')}: {size / 1e6:.0f} MB uncompressed (target < {TARGET_MB} MB)"]
    lines.append(f"  {'measure':<46} {'median s':>9} {'x baseline':>11}")
    lines += [f"  {name:<46} {value:>9.3f} {value / baseline:>11.2f}" for name, value, baseline in rows]
    lines.append(
        f"  forced rebuild {forced['seconds']} s; one image ID over 4 fresh stores, no-ops, rebuild: {len(ids) == 1}"
    )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
