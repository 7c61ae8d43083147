"""v2 tensors beside `/predict` records: decoding in process and whole requests over HTTP, in the same run.

    python bench/v2_decode.py [--rounds 200] [--requests 200]

The same 1,000 rows of the reference model's test split go as a `/predict` body and as three v2 bodies:
one [1000, 30] FP64 tensor with `data` flat (row-major) or nested by row, and one [1000] tensor per feature
(what KServe's client sends for a DataFrame). In process, each round times every decoder once, in turn;
over HTTP one `lockship serve` worker on 127.0.0.1 answers one client, one request at a time, the bodies
taking turns. Figures are medians; compare the ratios, not the times (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ROWS = 1000


def build_model_dir(work: Path) -> tuple[Path, Any]:
    """The real prepare, train and evaluate stages, packaged; and 1,000 rows of test features."""
    from lockship.core.numerics import pin_from_params

    pin_from_params(REPO / "params.yaml")  # the stages' numerics, before pandas loads numpy
    import pandas as pd

    from lockship.packaging.assemble import assemble_model_dir
    from lockship.packaging.build import headline_metrics
    from lockship.stages import evaluate, prepare, train

    shutil.copy(REPO / "params.yaml", work / "params.yaml")
    shutil.copy(REPO / "schema.yaml", work / "schema.yaml")
    f = {name: str(work / name) for name in ("params.yaml", "train.csv", "test.csv", "model.skops", "metadata.json")}
    assert prepare.main(["--params", f["params.yaml"], "--train", f["train.csv"], "--test", f["test.csv"]]) == 0
    assert train.main(["--params", f["params.yaml"], "--train", f["train.csv"], "--model", f["model.skops"],
                       "--metadata", f["metadata.json"]]) == 0  # fmt: skip
    assert evaluate.main(["--params", f["params.yaml"], "--model", f["model.skops"], "--metadata", f["metadata.json"],
                          "--train", f["train.csv"], "--test", f["test.csv"], "--metrics", str(work / "metrics.json"),
                          "--plots", str(work / "plots"), "--profile", str(work / "profile.json")]) == 0  # fmt: skip
    features = pd.read_csv(work / "test.csv").drop(columns=["target"])
    assemble_model_dir(work / "model-dir", model_path=work / "model.skops", metadata_path=work / "metadata.json",
                       schema_path=work / "schema.yaml", profile_path=work / "profile.json", lock_hash="0" * 64,
                       params={}, metrics=headline_metrics(json.loads((work / "metrics.json").read_text())),
                       example={str(k): float(v) for k, v in features.iloc[0].items()})  # fmt: skip
    batch = pd.concat([features] * (ROWS // len(features) + 1), ignore_index=True).iloc[:ROWS]
    return work / "model-dir", batch


def bodies(batch: Any) -> dict[str, tuple[str, bytes]]:
    """Each body by label, with the path it is posted to."""
    matrix = batch.to_numpy()
    records = [{str(k): float(v) for k, v in row.items()} for row in batch.to_dict("records")]

    def infer(tensors: list[dict[str, Any]]) -> tuple[str, bytes]:
        return "/v2/models/model/infer", json.dumps({"inputs": tensors}).encode()

    one = {"name": "input-0", "shape": list(matrix.shape), "datatype": "FP64"}
    return {
        "/predict records": ("/predict", json.dumps({"records": records}).encode()),
        "v2 [N, F] flat": infer([{**one, "data": matrix.ravel().tolist()}]),
        "v2 [N, F] nested": infer([{**one, "data": matrix.tolist()}]),
        "v2 [N] per feature": infer(
            [{"name": c, "shape": [ROWS], "datatype": "FP64", "data": batch[c].tolist()} for c in batch.columns]
        ),
    }


def medians(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each call, the calls taking turns within each round."""
    times: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(rounds):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) for label, values in times.items()}


def in_process(model_dir: Path, named: dict[str, tuple[str, bytes]], rounds: int) -> dict[str, float]:
    from lockship.core.model.directory import read_model_dir
    from lockship.serving.inputs import Decoder
    from lockship.serving.tensors import decode_infer

    decoder = Decoder(read_model_dir(model_dir))
    calls: dict[str, Callable[[], object]] = {}
    for label, (path, body) in named.items():
        calls[label] = (
            (lambda b=body: decoder.records(b)) if path == "/predict" else (lambda b=body: decode_infer(decoder, b))
        )
    return medians(calls, rounds)


def over_http(model_dir: Path, named: dict[str, tuple[str, bytes]], requests: int) -> dict[str, float]:
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as log:
        command = [sys.executable, "-m", "lockship", "serve", str(model_dir), "--host", "127.0.0.1",
                   "--port", str(port), "--workers", "1", "--input-log", log]  # fmt: skip
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        if client.get("/v2/health/ready").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.2)
                headers = {"content-type": "application/json"}

                def post(path: str, body: bytes) -> None:
                    assert client.post(path, content=body, headers=headers).status_code == 200

                calls = {label: (lambda p=path, b=body: post(p, b)) for label, (path, body) in named.items()}
                medians(calls, 10)  # warm-up
                return medians(calls, requests)
        finally:
            server.terminate()
            server.wait()


def report(title: str, figures: dict[str, float], sizes: dict[str, int]) -> None:
    base = figures["/predict records"]
    print(title)
    for label, seconds in figures.items():
        size = sizes[label] / 1024
        print(f"  {label:<20} {seconds * 1e3:7.2f} ms  {seconds / base:5.2f}x /predict   body {size:5.0f} KiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        model_dir, batch = build_model_dir(Path(work))
        named = bodies(batch)
        sizes = {label: len(body) for label, (_, body) in named.items()}
        report(
            f"in process: decode a {ROWS}-row body, median of {args.rounds}",
            in_process(model_dir, named, args.rounds),
            sizes,
        )
        figures = over_http(model_dir, named, args.requests)
        report(f"over HTTP: {ROWS}-row request at c=1, one worker, median of {args.requests}", figures, sizes)
        worst = max(seconds for label, seconds in figures.items() if label.startswith("v2"))
        ratio = worst / figures["/predict records"]
        verdict = "met" if ratio <= 1.2 else "NOT met"
        print(f"target: v2 1,000-row batch p50 within 1.2x of /predict's (slowest v2 form) -> {ratio:.2f}x, {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
