"""The input log: framed binary entries, bounded by rotation, shared by several writers, read back bit for bit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from lockship.core.errors import LockshipError
from lockship.serving.inputlog import (
    ENTRY_ROWS,
    LOG_NAME,
    InputLog,
    InputLogConfig,
    LoggedBatch,
    log_files,
    read_input_log,
)

EXTREMES = [-0.0, 0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, -1e300, 0.1, 1 / 3, np.pi]


def _batches(directory: Path) -> list[LoggedBatch]:
    return [batch for path in log_files(directory) for batch in read_input_log(path)]


def _column(directory: Path) -> list[float]:
    return [float(row[0]) for batch in _batches(directory) for row in batch.rows]


def test_numeric_and_json_entries_round_trip_bit_exact(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path), ["a", "b"])
    first = np.array(EXTREMES[:8], dtype=np.float64).reshape(4, 2)
    second = np.array([[EXTREMES[8], np.nan]])
    log.append(first, 4)
    log.append(np.empty((0, 2)), 0)
    log.append(second, 1)
    log.append([[5, "x"], [None, 1.5]], 2)
    before = time.time()
    log.flush()
    numeric, text = _batches(tmp_path)
    assert isinstance(numeric.rows, np.ndarray) and numeric.rows.dtype == np.float64
    assert numeric.rows.tobytes() == np.concatenate([first, second]).astype("<f8").tobytes()  # -0.0, NaN, subnormals
    assert text.rows == [[5, "x"], [None, 1.5]]
    assert numeric.features == text.features == ("a", "b")
    assert numeric.time <= text.time <= before
    header = orjson.loads((tmp_path / LOG_NAME).read_bytes().split(b"\n", 1)[0])
    assert header == {"time": numeric.time, "features": ["a", "b"], "rows": 5, "encoding": "float64-le", "bytes": 80}


def test_batches_are_grouped_into_entries_of_bounded_rows(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path), ["a"])
    log.append(np.zeros((2 * ENTRY_ROWS + 5000, 1)), 2 * ENTRY_ROWS + 5000)
    log.append(np.ones((100, 1)), 100)
    for number in range(50):  # many small requests share the last entry
        log.append(np.array([[float(number)]]), 1)
    log.flush()
    batches = _batches(tmp_path)
    assert [len(batch.rows) for batch in batches] == [ENTRY_ROWS, ENTRY_ROWS, 5150]
    expected = [0.0] * (2 * ENTRY_ROWS + 5000) + [1.0] * 100 + [float(n) for n in range(50)]
    assert _column(tmp_path) == expected


def test_rotation_bounds_the_size_and_keeps_the_newest_in_order(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path, max_bytes=1024, backups=11), ["a", "b"])
    for number in range(1000):
        log.append(np.array([[float(number), 1.0]]), 1)
        if number % 10 == 9:
            log.flush()
    files = log_files(tmp_path)
    assert [path.name for path in files] == [f"{LOG_NAME}.{n}" for n in range(11, 0, -1)] + [LOG_NAME]
    assert all(path.stat().st_size <= 1024 for path in files)
    rows = _column(tmp_path)
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    assert rows[-1] == 999.0 and rows[0] > 0.0  # the newest kept, in order, the oldest dropped


def test_two_writers_share_one_log(tmp_path: Path) -> None:
    config = InputLogConfig(tmp_path, max_bytes=10_000_000)
    first, second = InputLog(config, ["a"]), InputLog(config, ["a"])
    for number in range(100):
        (first if number % 2 else second).append(np.array([[float(number)]]), 1)
        if number % 10 == 9:
            first.flush()
            second.flush()
    assert sorted(_column(tmp_path)) == [float(n) for n in range(100)]


def test_a_flush_bigger_than_the_cap_keeps_the_newest_whole_entries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = InputLog(InputLogConfig(tmp_path, max_bytes=4096), ["a"])
    log.append(np.arange(1000, dtype=np.float64).reshape(1000, 1), 1000)
    log.flush()
    assert 0 < (tmp_path / LOG_NAME).stat().st_size <= 4096
    batches = _batches(tmp_path)  # a partial entry would raise here
    kept = sum(len(batch.rows) for batch in batches)
    assert len(batches) > 1 and _column(tmp_path) == [float(n) for n in range(1000 - kept, 1000)]
    assert "one flush passed --input-log-max-bytes; dropped its" in caplog.text


def test_read_only_and_non_contiguous_matrices_are_logged_unchanged(tmp_path: Path) -> None:
    base = np.arange(60, dtype=np.float64).reshape(6, 10)
    strided = base[::2, ::3]
    strided.flags.writeable = False
    frozen = np.frombuffer(np.arange(8, dtype=np.float64).tobytes()).reshape(2, 4)
    fortran = np.asfortranarray(np.arange(8, dtype=np.float64).reshape(2, 4) / 7)
    narrow = np.arange(4, dtype=np.float32).reshape(1, 4)
    inputs: list[np.ndarray[Any, Any]] = [strided, frozen, fortran, narrow]
    copies = [matrix.copy() for matrix in inputs]
    log = InputLog(InputLogConfig(tmp_path), ["a", "b", "c", "d"])
    for matrix in inputs:
        log.append(matrix, len(matrix))
    log.flush()
    (batch,) = _batches(tmp_path)
    assert isinstance(batch.rows, np.ndarray)
    assert batch.rows.tobytes() == np.concatenate(copies).astype("<f8").tobytes()
    assert all(
        np.array_equal(matrix, copy) and matrix.dtype == copy.dtype for matrix, copy in zip(inputs, copies, strict=True)
    )
    assert not strided.flags.writeable and not frozen.flags.writeable and np.array_equal(base.ravel(), np.arange(60))


def test_the_thread_flushes_and_close_writes_the_rest(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path, flush_seconds=0.05), ["a"])
    log.start()
    log.append(np.array([[1.0]]), 1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (tmp_path / LOG_NAME).exists():
        time.sleep(0.02)
    assert _column(tmp_path) == [1.0]  # written by the thread, before close
    log.append(np.array([[2.0]]), 1)
    log.close()
    log.append(np.array([[3.0]]), 1)
    log.flush()
    assert _column(tmp_path) == [1.0, 2.0, 3.0]


def _header(**fields: object) -> bytes:
    header = {"time": 1.5, "features": ["a"], "rows": 2, "encoding": "float64-le", "bytes": 16} | fields
    return orjson.dumps(header, option=orjson.OPT_APPEND_NEWLINE)


@pytest.mark.parametrize(
    ("damaged", "message"),
    [
        (b'{"time": 1.5, "features": ["a"\n', "the header is not JSON"),
        (b'["time"]\n', 'the header needs "time"'),
        (_header(encoding="float32-le") + bytes(8), "unknown encoding 'float32-le'"),
        (_header(bytes=8) + bytes(8), "8 payload bytes, expected 16 for 2 x 1 float64"),
        (_header() + bytes(12), "the entry is cut short: 12 of its 16 payload bytes are there"),
        (_header()[:-5], "the header line is cut short"),
        (_header(encoding="json", bytes=5) + b"[[1],", "the json payload is not JSON"),
        (_header(encoding="json", bytes=5) + b"[[1]]", "the json payload is not a list of 2 rows"),
    ],
)
def test_a_damaged_entry_is_one_line_naming_its_byte(tmp_path: Path, damaged: bytes, message: str) -> None:
    log = InputLog(InputLogConfig(tmp_path), ["a"])
    log.append(np.array([[1.0], [2.0]]), 2)
    log.flush()
    path = tmp_path / LOG_NAME
    offset = path.stat().st_size
    with path.open("ab") as file:
        file.write(damaged)
    entries = read_input_log(path)
    assert next(entries).rows.tolist() == [[1.0], [2.0]]  # type: ignore[union-attr]
    with pytest.raises(LockshipError) as caught:
        next(entries)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: byte {offset}: {message}") and "\n" not in problem
