"""The input log: JSON lines, bounded by rotation, shared safely by several writers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lockship.serving.inputlog import LOG_NAME, InputLog, InputLogConfig


def _lines(directory: Path) -> list[dict[str, object]]:
    files = sorted(directory.glob(f"{LOG_NAME}*"), reverse=True)
    return [json.loads(line) for path in files for line in path.read_bytes().splitlines()]


def test_batches_become_json_lines(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path), ["a", "b"])
    log.append(np.array([[1.0, 2.0], [3.0, 4.5]]), 2)
    log.append(np.array([[5.0, 6.0]]), 1)
    log.append([[5, "x"]], 1)
    log.flush()
    lines = _lines(tmp_path)
    assert [line["rows"] for line in lines] == [[[1.0, 2.0], [3.0, 4.5], [5.0, 6.0]], [[5, "x"]]]
    assert all(line["features"] == ["a", "b"] and isinstance(line["time"], float) for line in lines)


def test_rotation_bounds_the_size(tmp_path: Path) -> None:
    config = InputLogConfig(tmp_path, max_bytes=2048, backups=2)
    log = InputLog(config, ["a", "b"])
    for number in range(400):
        log.append(np.array([[float(number), 1.0]]), 1)
        if number % 10 == 9:
            log.flush()
    files = sorted(p.name for p in tmp_path.glob(f"{LOG_NAME}*"))
    assert files == [LOG_NAME, f"{LOG_NAME}.1", f"{LOG_NAME}.2"]
    assert all((tmp_path / name).stat().st_size <= 2048 for name in files)
    rows = [row[0] for line in _lines(tmp_path) for row in line["rows"]]  # type: ignore[attr-defined]
    assert rows == sorted(rows) and rows[-1] == 399.0  # the newest kept, in order, oldest dropped


def test_two_writers_share_one_log(tmp_path: Path) -> None:
    config = InputLogConfig(tmp_path, max_bytes=10_000_000)
    first, second = InputLog(config, ["a"]), InputLog(config, ["a"])
    for number in range(100):
        (first if number % 2 else second).append(np.array([[float(number)]]), 1)
        if number % 10 == 9:
            first.flush()
            second.flush()
    rows = [row[0] for line in _lines(tmp_path) for row in line["rows"]]  # type: ignore[attr-defined]
    assert sorted(rows) == [float(n) for n in range(100)]


def test_big_flushes_are_cut_into_lines(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path), ["a"])
    log.append(np.zeros((1200, 1)), 1200)
    log.append(np.ones((100, 1)), 100)
    log.flush()
    lines = _lines(tmp_path)
    assert [len(line["rows"]) for line in lines] == [500, 500, 300]  # type: ignore[arg-type]
    assert [row[0] for line in lines for row in line["rows"]] == [0.0] * 1200 + [1.0] * 100  # type: ignore[attr-defined]


def test_the_thread_flushes_and_close_writes_the_rest(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path, flush_seconds=0.05), ["a"])
    log.start()
    log.append(np.array([[1.0]]), 1)
    log.close()
    log.append(np.array([[2.0]]), 1)
    log.flush()
    assert [line["rows"] for line in _lines(tmp_path)] == [[[1.0]], [[2.0]]]
