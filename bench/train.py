"""The train stage with lockship's pinned numerics against the same stage with this machine's own choices.

Pinned is params.yaml as committed (OpenBLAS's Haswell kernel, numpy's SIMD up to X86_V3, 1 thread).
The baseline pins what this machine picks when nothing is set: its OpenBLAS kernel, every SIMD level
numpy dispatches to, and one thread per core. Each is a whole `python -m lockship.stages.train`
process on the reference training set (run `dvc repro` first), alternating, median of N.

    python bench/train.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PINNED_VARIABLES = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
ESTIMATORS = ("logistic_regression", "random_forest", "gradient_boosting")
TARGET = 1.5


def native_numerics() -> dict[str, object]:
    """What OpenBLAS and numpy choose on this machine with none of the pins set."""
    probe = (
        "import numpy, threadpoolctl; from numpy._core._multiarray_umath import __cpu_dispatch__ as d, "
        "__cpu_features__ as f; print(threadpoolctl.threadpool_info()[0]['architecture']); "
        "print([t for t in d if f.get(t)][-1])"
    )
    env = {name: value for name, value in os.environ.items() if name not in PINNED_VARIABLES}
    kernel, simd = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return {"blas_kernel": kernel, "simd_ceiling": simd, "threads": os.cpu_count() or 1}


def params_dir(parent: Path, name: str, estimator: str, numerics: dict[str, object] | None) -> Path:
    folder = parent / f"{name}-{estimator}"
    folder.mkdir()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"]["estimator"] = estimator
    if numerics is not None:
        params["lockship"]["numerics"] = numerics
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    return folder


def train_seconds(folder: Path) -> float:
    command = [sys.executable, "-m", "lockship.stages.train", "--params", "params.yaml",
               "--train", str(ROOT / "data/prepared/train.csv"), "--model", "model.skops",
               "--metadata", "metadata.json"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not (ROOT / "data/prepared/train.csv").is_file():
        print("data/prepared/train.csv: missing; run `dvc repro` first", file=sys.stderr)
        return 1
    native = native_numerics()
    print(f"unpinned baseline: this machine's own choices {native}")
    print(f"pinned: params.yaml lockship.numerics; median of {args.repeat}, alternating")
    worst = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for estimator in ESTIMATORS:
            pinned = params_dir(Path(scratch), "pinned", estimator, None)
            unpinned = params_dir(Path(scratch), "unpinned", estimator, native)
            times: dict[Path, list[float]] = {pinned: [], unpinned: []}
            for _ in range(args.repeat):
                for folder in (unpinned, pinned):
                    times[folder].append(train_seconds(folder))
            base, ours = statistics.median(times[unpinned]), statistics.median(times[pinned])
            worst = max(worst, ours / base)
            print(f"  {estimator:<20} unpinned {base:6.2f} s   pinned {ours:6.2f} s   ratio {ours / base:.2f}")
    print(f"target: pinned <= {TARGET}x unpinned -> {'met' if worst <= TARGET else 'NOT met'} (worst {worst:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
