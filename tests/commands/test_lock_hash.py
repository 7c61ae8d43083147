"""`lockship lock-hash`: the full hash, the short tag, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.cli import main as cli
from lockship.commands.lock_hash import main
from lockship.core.dvc.lockhash import lock_hash
from tests.core.dvc.test_lockhash import write_project


def test_prints_the_full_hash_and_the_short_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_project(tmp_path)
    expected = lock_hash(root)
    assert main(["--repo", str(root)]) == 0
    assert capsys.readouterr().out == expected.digest + "\n"
    assert main(["--repo", str(root), "--short", "--verbose"]) == 0
    assert capsys.readouterr().out == f"{expected.tag}\nstages: prepare, train\n"


def test_runs_from_the_current_directory_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path)
    monkeypatch.chdir(root)
    assert cli(["lock-hash", "--short"]) == 0
    assert capsys.readouterr().out == lock_hash(root).tag + "\n"


def test_errors_are_one_line_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"{tmp_path / 'dvc.yaml'}: file not found\n"
    root = write_project(tmp_path / "project")
    assert main(["--repo", str(root), "--stage", "deploy"]) == 2
    assert "no stage 'deploy'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--unknown"])
    assert exit_info.value.code == 2
