"""lockship logs export: the command layer (formats, --since, notes, usage errors)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lockship.cli import main as cli
from lockship.commands import logs_export
from lockship.serving.logformat import LOG_NAME
from tests.monitoring.conftest import draw, write_log


def test_exports_by_suffix_and_reports_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "log", draw(1200, seed=1))
    assert cli(["logs", "export", str(log), "-o", str(tmp_path / "out.parquet")]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'out.parquet'}: 1,200 rows from 1 entries\n"
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 1200
    assert logs_export.main([str(log), "--format", "csv", "-o", str(tmp_path / "out.txt")]) == 0
    assert len(pd.read_csv(tmp_path / "out.txt")) == 1200


def test_since_takes_iso_times_in_utc_unless_told(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "log", draw(10, seed=1))
    assert logs_export.main([str(log), "--since", "2999-01-01T00:00:00", "-o", str(tmp_path / "a.csv")]) == 0
    assert "0 rows from 0 entries" in capsys.readouterr().out
    assert logs_export.main([str(log), "--since", "2000-01-01T00:00:00+02:00", "-o", str(tmp_path / "b.csv")]) == 0
    assert "10 rows from 1 entries" in capsys.readouterr().out
    assert logs_export.parse_since("2026-01-01T00:00:00") == logs_export.parse_since("2026-01-01T01:00:00+01:00")


def test_damage_is_noted_and_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "log", draw(10, seed=1))
    (log / LOG_NAME).write_bytes((log / LOG_NAME).read_bytes()[:-3])
    write_log(log, draw(5, seed=2))
    assert logs_export.main([str(log), "-o", str(tmp_path / "out.parquet")]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith(f"note: {log / LOG_NAME}: byte 0: the entry is cut short")
    assert captured.out.startswith(
        f"{tmp_path / 'out.parquet'}: 5 rows from 1 entries; skipped 1 damaged stretch(es), "
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--since", "yesterday", "-o", "out.csv"], "--since: 'yesterday' is not an ISO 8601 time"),
        (["-o", "out.json"], "out.json: cannot tell the format from the suffix; pass --format parquet or csv"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, arguments: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path / "log", draw(10, seed=1))
    assert logs_export.main([str(log), *arguments]) == 2
    assert capsys.readouterr().err.startswith(expected)


def test_a_missing_directory_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lockship", "logs", "export", str(tmp_path / "nothing"), "-o", str(tmp_path / "o.csv")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (1, f"{tmp_path / 'nothing'}: no such file or directory\n")
