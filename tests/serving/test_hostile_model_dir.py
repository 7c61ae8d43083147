"""Hostile model directories (issue 8): refused in one line at start-up, through the path `lockship serve` takes.

Each damaged directory keeps its hashes consistent (as an attacker who rewrites package.json would), so
what is tested is the reading of the files, not the sha256 check that usually comes first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lockship.core.errors import LockshipError
from lockship.core.model.directory import read_model_dir
from lockship.modelfile import MAX_SCHEMA_BYTES
from lockship.serving.service import load_predictor
from tests.serving.conftest import Trained, free_port, rehash
from tests.test_modelfile import BOMB_SIZE, MALFORMED_MODELS, bomb

REFUSAL = "lockship serve: refusing to start"


def edit_json(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


def forge(trained: Trained, target: Path, model: bytes) -> Path:
    """A copy of the trained model directory whose model file is `model`, served through the pipeline.

    linear.json goes (the fast path never opens the model file), and every recorded hash is `model`'s.
    """
    copy = shutil.copytree(trained.model_dir, target)
    (copy / "linear.json").unlink()
    (copy / "model.skops").write_bytes(model)
    sha256 = hashlib.sha256(model).hexdigest()
    edit_json(copy / "package.json", lambda data: data.update(model_sha256=sha256, linear_sha256=None))
    edit_json(copy / "metadata.json", lambda data: data["model"].update(sha256=sha256))
    rehash(copy, "metadata.json")
    return copy


def test_a_forged_directory_still_starts_with_the_real_model(trained: Trained, tmp_path: Path) -> None:
    """The forging itself is sound: with the real model file, the directory loads through its pipeline."""
    model_dir = read_model_dir(forge(trained, tmp_path / "m", (trained.model_dir / "model.skops").read_bytes()))
    assert load_predictor(model_dir).path == "scikit-learn pipeline"


@pytest.mark.parametrize("case", sorted(MALFORMED_MODELS))
def test_malformed_model_files_refuse_the_start(trained: Trained, tmp_path: Path, case: str) -> None:
    content, _ = MALFORMED_MODELS[case]
    model_dir = read_model_dir(forge(trained, tmp_path / "m", content))
    with pytest.raises(LockshipError) as error:
        load_predictor(model_dir)
    assert len(error.value.problems) == 1 and "\n" not in error.value.problems[0]
    assert error.value.problems[0].startswith(f"{tmp_path / 'm' / 'model.skops'}: ")


# Runs `lockship serve` and reports its exit code, its output and the peak memory of the process tree.
SERVE_AND_MEASURE = """
import json, resource, subprocess, sys
result = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=240)
peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"code": result.returncode, "stdout": result.stdout, "stderr": result.stderr, "peak_mib": peak_mib}))
"""


def serve(model_dir: Path, log_dir: Path, workers: int = 1) -> dict[str, Any]:
    command = [sys.executable, "-c", SERVE_AND_MEASURE, sys.executable, "-m", "lockship", "serve", str(model_dir),
               "--host", "127.0.0.1", "--port", str(free_port()), "--input-log", str(log_dir),
               "--workers", str(workers)]  # fmt: skip
    # The timeout only stops a hang (a FIFO read at start-up hung forever); outcomes are what is asserted.
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def package_nested_deep(directory: Path) -> None:
    (directory / "package.json").write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)


def linear_fifo(directory: Path) -> None:
    (directory / "linear.json").unlink()
    os.mkfifo(directory / "linear.json")


def example_surrogate(directory: Path) -> None:
    edit_json(directory / "package.json", lambda data: data["example"].update({"mean radius": "\ud800"}))


SERVED: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "package.json nested 100k deep": (package_nested_deep, "package.json", ": nested deeper than 64 levels"),
    "linear.json a FIFO": (linear_fifo, "linear.json", ": not a regular file (a FIFO, device or socket)"),
    "an example value a lone surrogate": (
        example_surrogate,
        "package.json",
        r": example.mean radius: '\ud800' holds a lone",
    ),
}


@pytest.mark.parametrize("case", sorted(SERVED))
def test_lockship_serve_refuses_a_damaged_directory_in_one_line(trained: Trained, tmp_path: Path, case: str) -> None:
    damage, name, message = SERVED[case]
    model_dir = shutil.copytree(trained.model_dir, tmp_path / "m")
    damage(model_dir)
    report = serve(model_dir, tmp_path / "log")
    assert report["code"] == 1
    problem, refusal = report["stderr"].splitlines()
    assert problem.startswith(str(model_dir / name)) and message in problem, problem
    assert refusal == REFUSAL
    assert "Traceback" not in report["stdout"] + report["stderr"]


@pytest.mark.parametrize("workers", [1, 2])
def test_lockship_serve_refuses_a_zip_bomb_in_bounded_memory(trained: Trained, tmp_path: Path, workers: int) -> None:
    model_dir = forge(trained, tmp_path / "m", bomb())
    report = serve(model_dir, tmp_path / "log", workers)
    assert report["code"] == 1
    problem = (
        f"{model_dir / 'model.skops'}: 'schema.json': inflates to {BOMB_SIZE} bytes, more than the "
        f"{MAX_SCHEMA_BYTES} lockship loads (a zip bomb?)"
    )
    assert report["stderr"].splitlines() == [problem, REFUSAL]  # before any worker starts
    assert "Traceback" not in report["stdout"] + report["stderr"]
    assert report["peak_mib"] < 400  # inflating it takes 1,536 MiB for its text alone (3.4 GB in issue 8)


def test_lockship_serve_refuses_an_empty_model_file_in_one_line(trained: Trained, tmp_path: Path) -> None:
    model_dir = forge(trained, tmp_path / "m", b"")
    report = serve(model_dir, tmp_path / "log")
    assert (report["code"], report["stderr"]) == (
        1,
        f"{model_dir / 'model.skops'}: empty file, not a skops model file\n{REFUSAL}\n",
    )
