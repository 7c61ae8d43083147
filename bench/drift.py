"""`lockship drift` on 1,000,000 rows x 20 numeric features against `pyarrow.csv.read_csv` of the same CSV.

All timings in one run, alternating, best of N, in-process, wall and CPU time (all threads): drift
from the CSV (target: at most 2x read_csv), drift from the binary input log the server writes
(target: at most 1x read_csv), and
`scipy.stats.ks_2samp` column by column on the same data (the reference rows against the current
ones), for scale. Peak memory: the `lockship drift` command in a fresh subprocess, its peak RSS
against the data's float64 size (target: at most 2x), beside an interpreter that only imports
what drift imports. Two of the twenty features are shifted by 0.3 sd; the run checks that drift
flags exactly those two.

    python bench/drift.py [--rows 1000000] [--reference-rows 100000] [--bins 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as csv

from lockship.monitoring.compare import compare
from lockship.monitoring.reference import read_profile
from lockship.monitoring.thresholds import Thresholds
from lockship.serving.inputlog import InputLog, InputLogConfig
from lockship.stages.evaluate import profile

COLUMNS = 20
SHIFTED = ("f03", "f11")
# The child's own peak (VmHWM: reset at exec, unlike ru_maxrss, which keeps the forking parent's).
HIGH_WATER = "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')), file=sys.stderr)"
PEAK_RSS = f"import sys; from lockship.cli import main; code = main(sys.argv[1:]); {HIGH_WATER}; raise SystemExit(code)"
IMPORTS_RSS = f"import sys, numpy, pyarrow.csv, pyarrow.parquet, scipy.special, lockship.commands.drift; {HIGH_WATER}"


def data(rows: int, seed: int, shift: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means, scales = np.arange(COLUMNS) * 1.5, 1.0 + np.arange(COLUMNS) % 4
    matrix = rng.normal(means, scales, (rows, COLUMNS))
    if shift:
        for name in SHIFTED:
            index = int(name[1:])
            matrix[:, index] += 0.3 * scales[index]
    return matrix


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(function: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (all threads): on a busy machine the CPU time is the steadier of the two."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    function()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def peak_rss_mb(code: str, *arguments: str) -> float:
    result = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, check=False)
    return int(result.stderr.strip().splitlines()[-1]) / 1024  # VmHWM is in KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--bins", type=int, default=100, help="quantile bins per feature in the profile")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = [f"f{i:02d}" for i in range(COLUMNS)]
    with tempfile.TemporaryDirectory(prefix="lockship-bench-") as temporary:
        folder = Path(temporary)
        reference = data(args.reference_rows, seed=1, shift=False)
        frame = pd.DataFrame(reference, columns=names)
        (folder / "profile.json").write_text(json.dumps(profile(frame, features=names, bins=args.bins)))
        current = data(args.rows, seed=2, shift=True)
        csv.write_csv(pa.table({name: current[:, i] for i, name in enumerate(names)}), folder / "current.csv")
        log = InputLog(InputLogConfig(folder / "log", max_bytes=1 << 40), names)
        for start in range(0, args.rows, 100_000):
            log.append(current[start : start + 100_000], len(current[start : start + 100_000]))
        log.flush()
        size = os.path.getsize(folder / "current.csv") / 1e6
        say(f"{args.rows:,} rows x {COLUMNS} features; CSV {size:.0f} MB; profile of {args.reference_rows:,} rows, "
            f"{args.bins} bins; best of {args.repeat}")  # fmt: skip

        reference_profile = read_profile(folder / "profile.json")
        found: dict[str, list[str]] = {}

        def drift_from(source: str) -> None:
            report = compare(reference_profile, [str(folder / source)], thresholds=Thresholds())
            found[source] = sorted(result.name for result in report.drifted)

        runs: dict[str, list[tuple[float, float]]] = {"read_csv": [], "drift_csv": [], "drift_log": []}
        for _ in range(args.repeat):  # alternating, so a busy moment hits all three alike
            runs["read_csv"].append(timed(lambda: csv.read_csv(folder / "current.csv")))
            runs["drift_csv"].append(timed(lambda: drift_from("current.csv")))
            runs["drift_log"].append(timed(lambda: drift_from("log")))
        (read, read_cpu), (from_csv, csv_cpu), (from_log, log_cpu) = (
            (min(wall for wall, _ in runs[key]), min(cpu for _, cpu in runs[key]))
            for key in ("read_csv", "drift_csv", "drift_log")
        )
        say(f"pyarrow.csv.read_csv          {read:7.2f} s                           cpu {read_cpu:6.2f} s")
        say(f"drift from the CSV            {from_csv:7.2f} s  ratio {from_csv / read:.2f} (target <= 2)  "
            f"cpu {csv_cpu:6.2f} s  ratio {csv_cpu / read_cpu:.2f}")  # fmt: skip
        say(f"drift from the input log      {from_log:7.2f} s  ratio {from_log / read:.2f} (target <= 1)  "
            f"cpu {log_cpu:6.2f} s  ratio {log_cpu / read_cpu:.2f}")  # fmt: skip

        from scipy import stats

        start = time.perf_counter()
        for index in range(COLUMNS):
            stats.ks_2samp(reference[:, index], current[:, index])
        say(f"scipy ks_2samp per column     {time.perf_counter() - start:7.2f} s  (arrays in memory, KS only)")
        expected = sorted(SHIFTED)
        for source, names_found in found.items():
            say(f"flagged from {source}: {', '.join(names_found) or 'nothing'}"
                f"{'' if names_found == expected else f'  (EXPECTED {expected})'}")  # fmt: skip

        data_mb = args.rows * COLUMNS * 8 / 2**20
        baseline = peak_rss_mb(IMPORTS_RSS)
        for source in ("current.csv", "log"):
            peak = peak_rss_mb(PEAK_RSS, "drift", "--profile", str(folder / "profile.json"),
                               str(folder / source), "-o", str(folder / "out"))  # fmt: skip
            say(f"peak RSS, drift from {source:<11} {peak:6.0f} MiB = {peak / data_mb:.2f}x the data's float64 "
                f"{data_mb:.0f} MiB (target <= 2); the imports alone {baseline:.0f} MiB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
