"""check-data on a staged 1,000,000-row x 20-column CSV against `pyarrow.csv.read_csv` of the same file.

Both are measured in the same run, alternating, best of N: in-process (the hook's core against the
bare read) and end to end (the `lockship-check-data` console script against `python -c` that
imports pyarrow and reads the file). The target is a ratio of at most 1.5.

    python bench/check_data.py [--rows 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as csv
import yaml

from lockship.core.data.schema import load_schema
from lockship.hooks.check_data import check_files, governed_files

COLUMNS = 20


def make_repo(folder: Path, rows: int) -> None:
    """A git repo with schema.yaml and a staged data/big.csv: 17 float, 2 int and 1 label column."""
    rng = np.random.default_rng(0)
    columns = {f"feature_{i}": np.round(rng.uniform(0, 100, rows), 4) for i in range(COLUMNS - 3)}
    columns["count"] = rng.integers(0, 1000, rows)
    columns["year"] = rng.integers(1990, 2025, rows)
    columns["label"] = rng.integers(0, 2, rows)
    (folder / "data").mkdir(parents=True)
    csv.write_csv(pa.table(columns), folder / "data" / "big.csv")
    rules = {name: {"dtype": "float64", "nullable": False, "min": 0.0, "max": 100.0} for name in columns}
    rules.update(
        count={"dtype": "int64", "nullable": False, "min": 0, "max": 999},
        year={"dtype": "int64", "nullable": False, "min": 1990, "max": 2024},
        label={"dtype": "int64", "nullable": False, "allowed": [0, 1]},
    )
    schema = {"files": ["data/*.csv"], "target": "label", "min_rows": 1, "strict": True, "columns": rules}
    (folder / "schema.yaml").write_text(yaml.safe_dump(schema, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    subprocess.run(["git", "add", "data/big.csv", "schema.yaml"], cwd=folder, check=True)


def best(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    script = shutil.which("lockship-check-data")
    if script is None:
        raise SystemExit("lockship-check-data is not on PATH; install lockship first")
    with tempfile.TemporaryDirectory(prefix="lockship-bench-") as temporary:
        folder = Path(temporary)
        make_repo(folder, args.rows)
        os.chdir(folder)
        path = "data/big.csv"
        size = os.path.getsize(path) / 1024 / 1024
        schemas = [("schema.yaml", load_schema("schema.yaml"))]

        def hook() -> None:
            if check_files(governed_files([path], schemas), max_reported=50):
                raise SystemExit("the benchmark file should be valid")

        def read() -> None:
            csv.read_csv(path)

        def hook_process() -> None:
            subprocess.run([script, path], check=True)

        def read_process() -> None:
            code = f"import pyarrow.csv; pyarrow.csv.read_csv({path!r})"
            subprocess.run([sys.executable, "-c", code], check=True)

        hook(), read()  # warm the page cache and the imports
        in_process = [best(f, 1) for _ in range(args.repeat) for f in (hook, read)]
        ours, theirs = min(in_process[::2]), min(in_process[1::2])
        end_to_end = [best(f, 1) for _ in range(args.repeat) for f in (hook_process, read_process)]
        ours_cli, theirs_cli = min(end_to_end[::2]), min(end_to_end[1::2])
    say(f"file: {args.rows:,} rows x {COLUMNS} columns, {size:.0f} MiB CSV, staged; best of {args.repeat}")
    say(f"in process:  check-data {ours:.3f} s, pyarrow.csv.read_csv {theirs:.3f} s, ratio {ours / theirs:.2f}")
    say(
        f"end to end:  lockship-check-data {ours_cli:.3f} s, python -c read_csv {theirs_cli:.3f} s, "
        f"ratio {ours_cli / theirs_cli:.2f}"
    )
    say(f"target: ratio <= 1.5 -> {'met' if ours / theirs <= 1.5 and ours_cli / theirs_cli <= 1.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
