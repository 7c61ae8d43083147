"""A model directory built by the real stages, and the real `lockship serve` on a free 127.0.0.1 port."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from lockship.packaging.assemble import assemble_model_dir
from lockship.packaging.build import headline_metrics
from lockship.stages import evaluate, prepare, train
from tests.conftest import REPO_ROOT

START_TIMEOUT = 60.0
LOCK_HASH = "0123456789abcdef" * 4


@dataclass(frozen=True)
class Trained:
    """Outputs of the real prepare, train and evaluate stages, and the model directory built from them."""

    work: Path
    model_dir: Path
    test: pd.DataFrame

    @property
    def features(self) -> pd.DataFrame:
        return self.test.drop(columns=["target"])

    def records(self, rows: int | None = None) -> list[dict[str, Any]]:
        frame = self.features if rows is None else self.features.iloc[:rows]
        return [{str(k): float(v) for k, v in row.items()} for row in frame.to_dict("records")]


def build_model_dir(work: Path, target: Path, *, params: Path | None = None) -> Path:
    """Run the stages in `work` and package their outputs into `target`."""
    shutil.copy(params or REPO_ROOT / "params.yaml", work / "params.yaml")
    shutil.copy(REPO_ROOT / "schema.yaml", work / "schema.yaml")
    # The stages' own `main`s, in this process: the same code `dvc repro` runs, without three interpreter starts.
    files = {
        name: str(work / name) for name in ("params.yaml", "train.csv", "test.csv", "model.skops", "metadata.json")
    }
    assert (
        prepare.main(["--params", files["params.yaml"], "--train", files["train.csv"], "--test", files["test.csv"]])
        == 0
    )
    assert train.main(["--params", files["params.yaml"], "--train", files["train.csv"], "--model", files["model.skops"],
                       "--metadata", files["metadata.json"]]) == 0  # fmt: skip
    assert evaluate.main(["--params", files["params.yaml"], "--model", files["model.skops"], "--metadata",
                          files["metadata.json"], "--train", files["train.csv"], "--test", files["test.csv"],
                          "--metrics", str(work / "metrics.json"), "--plots", str(work / "plots"),
                          "--profile", str(work / "profile.json")]) == 0  # fmt: skip
    first = pd.read_csv(work / "test.csv").drop(columns=["target"]).iloc[0]
    assemble_model_dir(
        target,
        model_path=work / "model.skops",
        metadata_path=work / "metadata.json",
        schema_path=work / "schema.yaml",
        profile_path=work / "profile.json",
        lock_hash=LOCK_HASH,
        params={"train": {"estimator": "logistic_regression", "seed": 42}},
        metrics=scalar_metrics(work / "metrics.json"),
        example={str(name): float(value) for name, value in first.items()},
    )
    return target


def scalar_metrics(path: Path) -> dict[str, float]:
    """metrics.json's top-level figures, as packaging puts them in package.json (per-class ones and labels stay out)."""
    return headline_metrics(json.loads(path.read_text()))


def rehash(model_dir: Path, name: str) -> None:
    """Record a changed file's new sha256 in package.json, as an attacker who rewrites package.json would."""
    package = json.loads((model_dir / "package.json").read_text())
    digest = hashlib.sha256((model_dir / name).read_bytes()).hexdigest()
    keys = {"model.skops": "model_sha256", "linear.json": "linear_sha256"}
    if name in keys:
        package[keys[name]] = digest
    else:
        package["files"][name] = digest
    (model_dir / "package.json").write_text(json.dumps(package, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    work = tmp_path_factory.mktemp("stages")
    model_dir = build_model_dir(work, work / "model-dir")
    return Trained(work=work, model_dir=model_dir, test=pd.read_csv(work / "test.csv"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    log_dir: Path

    def output(self) -> str:
        self.stop()
        assert self.process.stdout is not None
        return self.process.stdout.read()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    model_dir: Path, log_dir: Path, *extra: str, port_from_env: bool = False, env: dict[str, str] | None = None
) -> Server:
    """Start `lockship serve` (port by flag, or by the PORT variable) and wait until it is ready or has exited."""
    port = free_port()
    port_flag = [] if port_from_env else ["--port", str(port)]
    command: Sequence[str] = [sys.executable, "-m", "lockship", "serve", str(model_dir), "--host", "127.0.0.1",
                              *port_flag, "--input-log", str(log_dir), *extra]  # fmt: skip
    env = {**(os.environ if env is None else env), **({"PORT": str(port)} if port_from_env else {})}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    server = Server(process, f"http://127.0.0.1:{port}", log_dir)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{server.url}/v2/health/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return server  # exited or never ready: callers assert on it


@pytest.fixture(scope="session")
def server(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One single-worker server shared by the tests that only send requests."""
    started = start_server(trained.model_dir, tmp_path_factory.mktemp("input-log"), "--workers", "1")
    assert started.process.poll() is None, started.output()
    yield started
    started.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as session:
        yield session


@pytest.fixture(scope="session")
def mixed_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stages' outputs for a table of numbers, strings, booleans and missing strings; model-dir/ inside."""
    from tests.serving.mixed_data import build_mixed_model_dir

    work = tmp_path_factory.mktemp("mixed")
    build_mixed_model_dir(work)
    return work


@pytest.fixture(scope="session")
def mixed_server(mixed_work: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A single-worker server for the mixed-data model."""
    started = start_server(mixed_work / "model-dir", tmp_path_factory.mktemp("mixed-log"), "--workers", "1")
    assert started.process.poll() is None, started.output()
    yield started
    started.stop()
