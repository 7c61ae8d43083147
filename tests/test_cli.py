from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from lockship import cli
from tests.conftest import run


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for words in cli.COMMANDS:
        assert " ".join(words) in out


def test_every_command_module_has_a_main() -> None:
    for module_name, _ in cli.COMMANDS.values():
        assert callable(importlib.import_module(module_name).main), module_name


def test_dispatch_passes_the_remaining_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d.csv").write_text("a,b\n1,x\n")
    assert cli.main(["schema", "infer", str(tmp_path / "d.csv"), "-o", str(tmp_path / "s.yaml")]) == 0
    assert (tmp_path / "s.yaml").exists()


def test_unknown_and_missing_commands_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["frobnicate"]) == 2
    assert "lockship: unknown command 'frobnicate'" in capsys.readouterr().err
    assert cli.main([]) == 2


def test_console_script_and_module_entry(tmp_path: Path) -> None:
    assert run("lockship", "--version", cwd=tmp_path).stdout.startswith("lockship ")
    assert run(sys.executable, "-m", "lockship", "--version", cwd=tmp_path).stdout.startswith("lockship ")
