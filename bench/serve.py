"""Speed of `lockship serve` beside a bare FastAPI app and raw `predict_proba`, all measured in this run.

    python bench/serve.py [--seconds 3] [--runs 3] [--workers N] [--models linear,random_forest,gradient_boosting]

The linear model (params.yaml's default) is compared with a bare app that runs no model: the
framework's own cost. The random forest and gradient boosting of params.yaml's `train` sections are
compared with a bare app that serves the same scikit-learn pipeline (`predict_proba` on a DataFrame
of the records, in a plain `def` route as FastAPI advises for blocking work), one worker each.

Needs `wrk` (Debian: `apt-get install wrk`) as the single load client; everything runs on 127.0.0.1.
The bare app is FastAPI + uvicorn with the same server options, a pydantic body of records and no
model: the framework's own cost. Each load run is bounded by `--seconds` after a one-second warm-up;
each figure is the median of `--runs` runs. Single-worker runs pin the server and wrk to cores of their
own (when there are two or more), so the scheduler cannot put the client on the server's core for
part of a run: the figures of both apps move much less from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BATCH_ROWS = 1000
V2_INFER = "/v2/models/model/infer"
COLD_STARTS = 3
_CORES = sorted(os.sched_getaffinity(0))
# Cores for the single-worker server and its client; None (no pinning) on a one-core machine.
SERVER_CORE, CLIENT_CORE = ({_CORES[-1]}, {_CORES[0]}) if len(_CORES) > 1 else (None, None)

BARE_APP = """
from fastapi import FastAPI
from pydantic import BaseModel

class Body(BaseModel):
    records: list[dict[str, float]]

def create() -> FastAPI:
    app = FastAPI()

    @app.post("/predict")
    async def predict(body: Body) -> dict[str, int]:
        return {"rows": len(body.records)}

    @app.get("/v2/health/ready")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    return app
"""

BARE_PIPELINE_APP = """
import os

import pandas as pd
import skops.io
from fastapi import FastAPI
from pydantic import BaseModel

class Body(BaseModel):
    records: list[dict[str, float]]

def create() -> FastAPI:
    path = os.environ["BENCH_MODEL"]
    model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    app = FastAPI()

    @app.post("/predict")
    def predict(body: Body) -> dict[str, list[list[float]]]:
        return {"probabilities": model.predict_proba(pd.DataFrame(body.records)).tolist()}

    @app.get("/v2/health/ready")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    return app
"""
TREE_MODELS = ("random_forest", "gradient_boosting")


def build_model_dir(work: Path, estimator: str = "linear") -> tuple[Path, list[dict[str, float]]]:
    """Run the real prepare, train and evaluate stages (params.yaml, with `estimator` unless linear) and package."""
    from lockship.core.numerics import pin_from_params

    pin_from_params(REPO / "params.yaml")  # the stages' numerics, before pandas loads numpy
    import pandas as pd
    import yaml

    from lockship.packaging.assemble import assemble_model_dir
    from lockship.stages import evaluate, prepare, train

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    if estimator != "linear":
        params["train"]["estimator"] = estimator
    work.mkdir(parents=True, exist_ok=True)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shutil.copy(REPO / "schema.yaml", work / "schema.yaml")
    f = {name: str(work / name) for name in ("params.yaml", "train.csv", "test.csv", "model.skops", "metadata.json")}
    assert prepare.main(["--params", f["params.yaml"], "--train", f["train.csv"], "--test", f["test.csv"]]) == 0
    assert train.main(["--params", f["params.yaml"], "--train", f["train.csv"], "--model", f["model.skops"],
                       "--metadata", f["metadata.json"]]) == 0  # fmt: skip
    assert evaluate.main(["--params", f["params.yaml"], "--model", f["model.skops"], "--metadata", f["metadata.json"],
                          "--train", f["train.csv"], "--test", f["test.csv"], "--metrics", str(work / "metrics.json"),
                          "--plots", str(work / "plots"), "--profile", str(work / "profile.json")]) == 0  # fmt: skip
    features = pd.read_csv(work / "test.csv").drop(columns=["target"])
    records = [{str(k): float(v) for k, v in row.items()} for row in features.to_dict("records")]
    assemble_model_dir(work / "model-dir", model_path=f["model.skops"], metadata_path=f["metadata.json"],
                       schema_path=work / "schema.yaml", profile_path=work / "profile.json", lock_hash="0" * 64,
                       params={}, metrics={}, example=records[0])  # fmt: skip
    return work / "model-dir", records


def median_time(call: Callable[[], object], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def raw_model_times(model_dir: Path, records: list[dict[str, float]]) -> dict[str, float]:
    import pandas as pd

    from lockship.core.model.directory import read_model_dir
    from lockship.modelfile import load_model
    from lockship.serving.inputs import Decoder
    from lockship.serving.service import load_predictor

    model = load_model(model_dir / "model.skops")
    one = pd.DataFrame(records[:1])
    batch = pd.DataFrame((records * (BATCH_ROWS // len(records) + 1))[:BATCH_ROWS])
    model_directory = read_model_dir(model_dir)
    predictor = load_predictor(model_directory)
    decoder = Decoder(model_directory)
    body = json.dumps({"records": batch.to_dict("records")}).encode()
    return {
        "raw predict_proba, 1 row": median_time(lambda: model.predict_proba(one), 300),
        "raw predict_proba, 1000 rows": median_time(lambda: model.predict_proba(batch), 100),
        f"served predictor ({predictor.path}), 1 row": median_time(lambda: predictor.predict(one.to_numpy()), 300),
        f"served predictor ({predictor.path}), 1000 rows": median_time(
            lambda: predictor.predict(batch.to_numpy()), 100
        ),
        "decode and check a 1000-row JSON body": median_time(lambda: decoder.records(body), 100),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return connection.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@dataclass(frozen=True)
class Kind:
    name: str
    command: Callable[[int, int], list[str]]
    env: dict[str, str] | None = None


def kinds(model_dir: Path, work: Path) -> list[Kind]:
    (work / "bare_app.py").write_text(BARE_APP)
    server = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]

    def bare(port: int, workers: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "bare_app:create", "--factory", "--app-dir", str(work),
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *server]  # fmt: skip

    def ours(port: int, workers: int) -> list[str]:
        return [sys.executable, "-m", "lockship", "serve", str(model_dir), "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--input-log", str(work / "input-log"),
                "--log-level", "warning"]  # fmt: skip

    return [Kind("bare FastAPI", bare), Kind("lockship serve", ours)]


def pipeline_kinds(model_dir: Path, work: Path) -> list[Kind]:
    """The bare app serving model_dir's pipeline itself, and lockship serving model_dir."""
    (work / "bare_pipeline_app.py").write_text(BARE_PIPELINE_APP)
    server = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]

    def bare(port: int, workers: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "bare_pipeline_app:create", "--factory", "--app-dir", str(work),
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *server]  # fmt: skip

    ours = kinds(model_dir, work)[1]
    return [Kind("bare FastAPI + pipeline", bare, {"BENCH_MODEL": str(model_dir / "model.skops")}), ours]


def pinned(cores: set[int] | None) -> Callable[[], None] | None:
    """A preexec_fn that moves the child to `cores`."""
    return None if cores is None else lambda: os.sched_setaffinity(0, cores)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far: unlike wall time, barely moved by other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running(kind: Kind, workers: int, cores: set[int] | None = None) -> Iterator[tuple[int, float, float, int]]:
    """A started server's port, the seconds from spawn to ready, the CPU seconds it used to get there, its pid."""
    port = free_port()
    # Server output goes to a file: a pipe nobody reads could fill and stall the server.
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            kind.command(port, workers),
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned(cores),
            env={**os.environ, **(kind.env or {})},
        )
        try:
            while not ready(port):
                if process.poll() is not None:
                    output.seek(0)
                    raise SystemExit(f"{kind.name} exited: {output.read().decode()}")
                time.sleep(0.005)
            yield port, time.perf_counter() - start, cpu_seconds(process.pid), process.pid
        finally:
            process.terminate()
            process.wait(timeout=20)


@dataclass(frozen=True)
class Load:
    rate: float
    p50: float
    p99: float
    max: float
    errors: int
    cpu: float = 0.0  # the server's CPU seconds per request, when its pid was given


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk duration {text!r}")
    number, unit = match.groups()
    return float(number) * _UNITS[unit]


def wrk(
    port: int,
    body: Path,
    connections: int,
    seconds: int,
    cores: set[int] | None = None,
    pid: int = 0,
    path: str = "/predict",
) -> Load:
    script = body.with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = io.open("{body}"):read("*a")\n'
    )
    url = f"http://127.0.0.1:{port}{path}"
    base = ["wrk", "-t1", f"-c{connections}", "--latency", "-s", str(script), url]
    run: dict[str, Any] = {"capture_output": True, "text": True, "check": True, "preexec_fn": pinned(cores)}
    subprocess.run([*base[:3], "-d1s", *base[3:]], **run)  # warm-up
    used = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run([*base[:3], f"-d{seconds}s", *base[3:]], **run).stdout
    used = cpu_seconds(pid) - used if pid else 0.0
    latency = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.MULTILINE)
    p50, p99 = (re.search(rf"^\s+{q}%\s+(\S+)", out, re.MULTILINE) for q in ("50", "99"))
    error_lines = re.findall(r"(?:Non-2xx or 3xx responses|Socket errors):(.*)", out)
    errors = sum(int(n) for line in error_lines for n in re.findall(r"\d+", line))
    assert latency and p50 and p99, out
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    latencies = (_seconds(p50.group(1)), _seconds(p99.group(1)), _seconds(latency.group(1)))
    return Load(rate, *latencies, errors, used / max(requests, 1))


def repeated(
    port: int,
    body: Path,
    connections: int,
    seconds: int,
    runs: int,
    cores: set[int] | None = None,
    path: str = "/predict",
) -> Load:
    """Medians over `runs` load runs (this machine is shared: one run can meet someone else's job),
    except the worst latency and the errors, which are the worst and the sum over all runs."""
    loads = [wrk(port, body, connections, seconds, cores, path=path) for _ in range(runs)]
    return Load(
        rate=statistics.median(load.rate for load in loads),
        p50=statistics.median(load.p50 for load in loads),
        p99=statistics.median(load.p99 for load in loads),
        max=max(load.max for load in loads),
        errors=sum(load.errors for load in loads),
    )


def measure(kind: Kind, workers: int, single: Path, batch: Path, seconds: int, runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with running(kind, 1, SERVER_CORE) as (port, _, _, _):
        results["c1"] = repeated(port, single, 1, seconds, runs, CLIENT_CORE)
        results["batch"] = repeated(port, batch, 1, seconds, runs, CLIENT_CORE)
    with running(kind, workers) as (port, _, _, _):
        for connections in (1, 8, 32):
            results[f"w{connections}"] = repeated(port, single, connections, seconds, runs)
    starts, cpu = [], []
    for _ in range(COLD_STARTS):
        with running(kind, 1) as (_, elapsed, used, _):
            starts.append(elapsed)
            cpu.append(used)
    results["cold"], results["cold cpu"] = statistics.median(starts), statistics.median(cpu)
    return results


def say(text: str) -> None:
    sys.stdout.write(text + "\n")


def report(raw: dict[str, float], results: dict[str, dict[str, Any]], workers: int) -> None:
    bare, ours = results["bare FastAPI"], results["lockship serve"]
    say(f"machine: {os.cpu_count()} cores; load client: wrk, 1 thread; {workers} workers for concurrency 1/8/32")
    if SERVER_CORE is not None:
        client = min(CLIENT_CORE or SERVER_CORE)
        say(f"single-worker runs: server pinned to core {min(SERVER_CORE)}, wrk to core {client}")
    say("load figures: median of the runs; max latency: worst of all runs")
    say("\nin-process model (median):")
    for name, seconds in raw.items():
        say(f"  {name:<52} {seconds * 1e3:8.3f} ms")
    rows: list[tuple[str, Callable[[dict[str, Any]], float], str]] = [
        ("p50 latency, 1 row, concurrency 1 (1 worker)", lambda r: r["c1"].p50 * 1e3, "ms"),
        ("p99 latency, 1 row, concurrency 1 (1 worker)", lambda r: r["c1"].p99 * 1e3, "ms"),
        ("throughput, concurrency 1 (1 worker)", lambda r: r["c1"].rate, "req/s"),
        (f"throughput, concurrency 1 ({workers} workers)", lambda r: r["w1"].rate, "req/s"),
        (f"throughput, concurrency 8 ({workers} workers)", lambda r: r["w8"].rate, "req/s"),
        (f"throughput, concurrency 32 ({workers} workers)", lambda r: r["w32"].rate, "req/s"),
        (f"max latency, concurrency 32 ({workers} workers)", lambda r: r["w32"].max * 1e3, "ms"),
        ("max latency, concurrency 1 (1 worker)", lambda r: r["c1"].max * 1e3, "ms"),
        ("p50 latency, 1000-row batch (1 worker)", lambda r: r["batch"].p50 * 1e3, "ms"),
        ("cold start to ready (median of 3)", lambda r: r["cold"] * 1e3, "ms"),
        ("CPU time of that start (median of 3)", lambda r: r["cold cpu"] * 1e3, "ms"),
    ]
    say(f"\n{'':<48} {'lockship':>10} {'bare':>10} {'ratio':>7}")
    for label, value, unit in rows:
        mine, base = value(ours), value(bare)
        say(f"{label:<48} {mine:>10.2f} {base:>10.2f} {mine / base:>7.2f}  {unit}")
    one_row = raw["raw predict_proba, 1 row"] * 1e3
    say(f"\np50 at concurrency 1 over raw predict_proba (1 row): {ours['c1'].p50 * 1e3 / one_row:.2f}x")
    errors = sum(load.errors for r in results.values() for load in r.values() if isinstance(load, Load))
    say(f"failed requests (non-2xx or socket errors) in all runs: {errors}")


def measure_pipeline(
    kind: Kind, single: Path, batch: Path, seconds: int, runs: int, v2_batch: Path | None = None
) -> dict[str, Any]:
    """One worker, pinned: 1 row at concurrency 1 and 32, a 1,000-row batch at concurrency 1 (also as one
    v2 tensor when `v2_batch` is given); cold starts."""
    results: dict[str, Any] = {}
    with running(kind, 1, SERVER_CORE) as (port, _, _, _):
        results["c1"] = repeated(port, single, 1, seconds, runs, CLIENT_CORE)
        results["c32"] = repeated(port, single, 32, seconds, runs, CLIENT_CORE)
        results["batch"] = repeated(port, batch, 1, seconds, runs, CLIENT_CORE)
        if v2_batch is not None:
            results["v2"] = repeated(port, v2_batch, 1, seconds, runs, CLIENT_CORE, path=V2_INFER)
    starts = []
    for _ in range(COLD_STARTS):
        with running(kind, 1) as (_, elapsed, _, _):
            starts.append(elapsed)
    results["cold"] = statistics.median(starts)
    return results


def report_pipeline(estimator: str, raw: dict[str, float], results: dict[str, dict[str, Any]]) -> None:
    bare, ours = results["bare FastAPI + pipeline"], results["lockship serve"]
    say(f"\n{estimator} (params.yaml train.{estimator}): 1 worker each, pinned; the bare app runs the pipeline")
    for name, seconds in raw.items():
        say(f"  {name:<52} {seconds * 1e3:8.3f} ms")
    rows: list[tuple[str, Callable[[dict[str, Any]], float], str, str]] = [
        ("throughput, 1 row, concurrency 1", lambda r: r["c1"].rate, "req/s", ">= 2x bare"),
        ("p50 latency, 1 row, concurrency 1", lambda r: r["c1"].p50 * 1e3, "ms", ""),
        ("p99 latency, 1 row, concurrency 1", lambda r: r["c1"].p99 * 1e3, "ms", ""),
        ("p99 latency, 1 row, concurrency 32", lambda r: r["c32"].p99 * 1e3, "ms", ""),
        ("worst latency, 1 row, concurrency 32", lambda r: r["c32"].max * 1e3, "ms", "< 100 ms"),
        ("throughput, 1 row, concurrency 32", lambda r: r["c32"].rate, "req/s", ""),
        ("p50 latency, 1000-row batch", lambda r: r["batch"].p50 * 1e3, "ms", "<= 0.5x bare"),
        ("cold start to ready (median of 3)", lambda r: r["cold"] * 1e3, "ms", ""),
    ]
    say(f"  {'':<46} {'lockship':>10} {'bare':>10} {'ratio':>7}")
    for label, value, unit, target in rows:
        mine, base = value(ours), value(bare)
        say(f"  {label:<46} {mine:>10.2f} {base:>10.2f} {mine / base:>7.2f}  {unit:<6} {target}")
    v2, records = ours["v2"].p50 * 1e3, ours["batch"].p50 * 1e3
    say(f"  {'p50 latency, 1000-row v2 batch (lockship only)':<46} {v2:>10.2f} {records:>10.2f} {v2 / records:>7.2f}"
        "  ms     <= 1.2x /predict's (second column: lockship's /predict batch)")  # fmt: skip
    errors = sum(load.errors for r in results.values() for load in r.values() if isinstance(load, Load))
    say(f"  failed requests (non-2xx or socket errors) in all runs: {errors}")


def v2_tensor(rows: list[dict[str, float]]) -> dict[str, Any]:
    """The rows as one [N, features] FP64 tensor in the records' column order (the model's)."""
    names = list(rows[0])
    data = [row[name] for row in rows for name in names]
    return {"name": "input-0", "shape": [len(rows), len(names)], "datatype": "FP64", "data": data}


def pipeline_times(model_dir: Path, records: list[dict[str, float]]) -> dict[str, float]:
    """The in-process figures of a model served through a fast path or its pipeline."""
    times = raw_model_times(model_dir, records)
    del times["decode and check a 1000-row JSON body"]
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=3, help="length of each load run (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="load runs per figure, medians reported (%(default)s)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="workers for 8/32")
    parser.add_argument("--models", default="linear," + ",".join(TREE_MODELS), help="comma-separated (%(default)s)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.stderr.write("bench/serve.py needs wrk: apt-get install wrk\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="lockship-bench-") as temporary:
        for estimator in args.models.split(","):
            work = Path(temporary) / estimator
            model_dir, records = build_model_dir(work, estimator)
            single, batch = work / "single.json", work / "batch.json"
            single.write_text(json.dumps({"records": records[:1]}))
            rows = (records * (BATCH_ROWS // len(records) + 1))[:BATCH_ROWS]
            batch.write_text(json.dumps({"records": rows}))
            v2_batch = work / "v2-batch.json"
            v2_batch.write_text(json.dumps({"inputs": [v2_tensor(rows)]}))
            if estimator == "linear":
                raw = raw_model_times(model_dir, records)
                results = {
                    kind.name: measure(kind, args.workers, single, batch, args.seconds, args.runs)
                    for kind in kinds(model_dir, work)
                }
                report(raw, results, args.workers)
            else:
                raw = pipeline_times(model_dir, records)
                bare, ours = pipeline_kinds(model_dir, work)
                results = {
                    bare.name: measure_pipeline(bare, single, batch, args.seconds, args.runs),
                    ours.name: measure_pipeline(ours, single, batch, args.seconds, args.runs, v2_batch),
                }
                report_pipeline(estimator, raw, results)
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
