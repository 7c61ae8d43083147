"""Progress shows on a terminal and stays silent otherwise: run a real training under a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from lockship.stages import prepare
from tests.stages.conftest import set_params


@pytest.fixture
def forest_params(tmp_path: Path, params_file: Path) -> Path:
    args = ["--params", str(params_file), "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "t.csv")]
    assert prepare.main(args) == 0
    set_params(params_file, "train", estimator="random_forest", random_forest={"n_estimators": 60})
    return params_file


def train_command(tmp_path: Path, params: Path) -> list[str]:
    return [
        sys.executable, "-m", "lockship.stages.train", "--params", str(params), "--train", str(tmp_path / "train.csv"),
        "--model", str(tmp_path / "m.skops"), "--metadata", str(tmp_path / "m.json"),
    ]  # fmt: skip


def test_progress_is_drawn_on_a_terminal(tmp_path: Path, forest_params: Path) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(train_command(tmp_path, forest_params), stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        output += chunk
    assert process.wait() == 0
    # tqdm throttles redraws, so the last count may never be drawn; the first always is.
    assert b"train random_forest" in output and b"0/60" in output


def test_no_progress_when_not_on_a_terminal(tmp_path: Path, forest_params: Path) -> None:
    result = subprocess.run(train_command(tmp_path, forest_params), capture_output=True, check=True)
    assert result.stdout == b"" and result.stderr == b""
