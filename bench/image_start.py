"""Cold start of a serving image: `podman run` to `/v2/health/ready`, beside the container floor, in one run.

    python bench/image_start.py IMAGE [--runs 5]

IMAGE is a lockship image in the local container store (`dvc repro` builds it; `package/image.json`
names it). Each run starts a fresh container as the tests do (read-only root, host network) and
times from `podman run` to the first 200 from readiness, which comes after the model's checks and
its smoke prediction. The baseline, timed in the same run, is the same image running
`python3 -c pass` (`podman run --rm`): what any container of this image costs before the server.
The first run of each also pays for a cold page cache; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.packaging.containers import CONTAINERS_CONF  # podman settings that work on these machines

READY_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def to_ready(image: str, env: dict[str, str], name: str) -> tuple[float, str]:
    """Seconds from `podman run` to ready, and the prediction path `/metadata` names."""
    port = free_port()
    run = ["podman", "run", "-d", "--name", name, "--read-only", "--network", "host", "--no-healthcheck"]
    start = time.perf_counter()
    subprocess.run([*run, "-e", f"PORT={port}", image], env=env, check=True, capture_output=True)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
            if time.perf_counter() - start > READY_SECONDS:
                raise SystemExit(f"{image}: not ready within {READY_SECONDS} s")
        elapsed = time.perf_counter() - start
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metadata", timeout=5) as answer:
            path = str(json.load(answer).get("prediction_path"))
        return elapsed, path
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "2", name], env=env, capture_output=True, check=False)


def floor(image: str, env: dict[str, str]) -> float:
    command = ["podman", "run", "--rm", "--read-only", "--network", "host", "--entrypoint", "python3", image]
    start = time.perf_counter()
    subprocess.run([*command, "-c", "pass"], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", metavar="IMAGE", help="e.g. lockship-model:<tag> from package/image.json")
    parser.add_argument("--runs", type=int, default=5, help="containers started per figure (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lockship-bench-start-") as temporary:
        conf = Path(temporary) / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        starts, floors, paths = [], [], set()
        for index in range(args.runs):
            elapsed, path = to_ready(args.image, env, f"lockship-bench-start-{os.getpid()}-{index}")
            starts.append(elapsed)
            paths.add(path)
            floors.append(floor(args.image, env))
    ready, base = statistics.median(starts), statistics.median(floors)
    print(f"image {args.image}, served through: {', '.join(sorted(paths))}; median of {args.runs}")
    print(f"  podman run to ready            {ready:6.2f} s   all: {', '.join(f'{s:.2f}' for s in starts)}")
    print(f"  podman run python3 -c pass     {base:6.2f} s   (the container floor)")
    print(f"  ready beyond the floor         {ready - base:6.2f} s   ratio {ready / base:.1f}x the floor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
