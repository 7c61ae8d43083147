"""Input logs to Parquet and CSV: read back by pandas bit for bit, filtered by time, whole or not at all."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyarrow import parquet

from lockship.core.errors import LockshipError
from lockship.monitoring.export import export_logs
from lockship.serving.inputlog import InputLog, InputLogConfig
from lockship.serving.logformat import LOG_NAME
from tests.monitoring.conftest import draw, write_log


@pytest.mark.parametrize("form", ["parquet", "csv"])
def test_two_replicas_export_to_one_file_pandas_reads(tmp_path: Path, form: str) -> None:
    first, second = draw(25_000, seed=1), draw(300, seed=2)
    before = time.time()
    logs = [str(write_log(tmp_path / "a", first)), str(write_log(tmp_path / "b", second))]
    output = tmp_path / f"inputs.{form}"
    result = export_logs(logs, output=output, format=form)
    assert (result.rows, result.entries) == (25_300, 4)  # entries hold at most 10,000 rows
    frame = pd.read_parquet(output) if form == "parquet" else pd.read_csv(output)
    assert list(frame.columns) == ["time", *first.columns]
    expected = pd.concat([first, second], ignore_index=True)
    # Values come back bit for bit (CSV: pyarrow writes doubles that round-trip).
    assert frame[list(first.columns)].to_numpy().tobytes() == expected.to_numpy().tobytes()
    times = pd.to_datetime(frame["time"], utc=True)
    assert times.min().timestamp() >= before - 1 and times.max().timestamp() <= time.time()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_since_keeps_later_entries_only(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path / "log"), ["a"])
    log.append(np.array([[1.0]]), 1)
    log.flush()
    time.sleep(0.05)
    middle = time.time()
    log.append(np.array([[2.0], [3.0]]), 2)
    log.flush()
    result = export_logs([str(tmp_path / "log")], output=tmp_path / "out.parquet", format="parquet", since=middle)
    assert result.rows == 2
    assert pd.read_parquet(tmp_path / "out.parquet")["a"].tolist() == [2.0, 3.0]
    later = export_logs([str(tmp_path / "log")], output=tmp_path / "none.csv", format="csv", since=time.time() + 10)
    assert later.rows == 0 and list(pd.read_csv(tmp_path / "none.csv").columns) == ["time", "a"]


def test_json_entries_keep_their_text_and_numbers(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path / "log"), ["size", "colour"])
    log.append([[1, "red"], [2.5, None]], 2)
    log.append([[3, "blue"]], 1)
    log.flush()
    export_logs([str(tmp_path / "log")], output=tmp_path / "out.parquet", format="parquet")
    table = parquet.read_table(tmp_path / "out.parquet")
    assert table.column("size").to_pylist() == [1.0, 2.5, 3.0]
    assert table.column("colour").to_pylist() == ["red", None, "blue"]


def test_damaged_entries_are_skipped_and_counted(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log", draw(10, seed=1))
    (log / LOG_NAME).write_bytes((log / LOG_NAME).read_bytes()[:-5])
    write_log(log, draw(20, seed=2))
    result = export_logs([str(log)], output=tmp_path / "out.parquet", format="parquet")
    assert result.rows == 20 and len(result.skipped.problems) == 1
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 20


def test_a_failure_leaves_no_file_behind(tmp_path: Path) -> None:
    output = tmp_path / "out.parquet"
    output.write_bytes(b"the previous export")
    write_log(tmp_path / "a", draw(10, seed=1))
    write_log(tmp_path / "b", draw(10, seed=1).rename(columns={"wide": "area"}))
    with pytest.raises(LockshipError) as error:
        export_logs([str(tmp_path / "a"), str(tmp_path / "b")], output=output, format="parquet")
    (line,) = error.value.problems
    assert line.startswith(f"{tmp_path / 'b' / LOG_NAME}: logs features normal, skewed, uniform, counts, area, but")
    assert output.read_bytes() == b"the previous export"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a", "b", "out.parquet"]


def test_no_entries_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / LOG_NAME).write_bytes(b"")
    with pytest.raises(LockshipError, match=r"log: no input-log entries to export$"):
        export_logs([str(tmp_path / "log")], output=tmp_path / "out.csv", format="csv")
    with pytest.raises(LockshipError, match="expected an input-log directory"):
        export_logs([str(tmp_path / "log" / LOG_NAME)], output=tmp_path / "out.csv", format="csv")
    assert not (tmp_path / "out.csv").exists()
