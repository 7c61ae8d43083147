"""The input log: framed binary entries, bounded by rotation, shared by several writers, read back bit for bit."""

from __future__ import annotations

import fcntl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from lockship.serving.inputlog import ENTRY_ROWS, InputLog, InputLogConfig
from lockship.serving.logformat import LOCK_NAME, LOG_NAME, MAGIC, LoggedBatch, Skipped, log_files, read_input_log

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
    first_line = (tmp_path / LOG_NAME).read_bytes().split(b"\n", 1)[0]
    assert first_line.startswith(MAGIC)
    header = orjson.loads(first_line[len(MAGIC) :])
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
    return MAGIC + orjson.dumps(header, option=orjson.OPT_APPEND_NEWLINE)


def _logged(directory: Path, *values: float) -> None:
    log = InputLog(InputLogConfig(directory), ["a"])
    log.append(np.array([[value] for value in values]), len(values))
    log.flush()


@pytest.mark.parametrize(
    ("damaged", "message"),
    [
        (MAGIC + b'{"time": 1.5, "features": ["a"\n', "the header is not JSON"),
        (MAGIC + b'["time"]\n', 'the header needs "time"'),
        (_header(encoding="float32-le") + bytes(8), "unknown encoding 'float32-le'"),
        (_header(bytes=8) + bytes(8), "8 payload bytes, expected 16 for 2 x 1 float64"),
        (_header() + bytes(12), "the entry is cut short: the next entry starts 12 bytes into its 16-byte payload"),
        (_header()[:-5], "the header line is cut short"),
        (_header(encoding="json", bytes=5) + b"[[1],", "the json payload is not JSON"),
        (_header(encoding="json", bytes=5) + b"[[1]]", "the json payload is not a list of 2 rows"),
        (b"\0" * 100, "no entry starts here"),
    ],
)
def test_the_reader_steps_over_damage_and_counts_it(tmp_path: Path, damaged: bytes, message: str) -> None:
    _logged(tmp_path, 1.0, 2.0)
    path = tmp_path / LOG_NAME
    offset = path.stat().st_size
    with path.open("ab") as file:
        file.write(damaged)
    _logged(tmp_path, 3.0)
    skipped = Skipped()
    assert [batch.rows.tolist() for batch in read_input_log(path, skipped)] == [[[1.0], [2.0]], [[3.0]]]  # type: ignore[union-attr]
    (problem,) = skipped.problems
    assert problem.startswith(f"{path}: byte {offset}: {message}") and "\n" not in problem
    assert problem.endswith(f"; skipped {len(damaged)} bytes") and skipped.bytes == len(damaged)


def test_a_torn_entry_at_the_end_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    _logged(tmp_path, 1.0)
    path = tmp_path / LOG_NAME
    whole = path.stat().st_size
    with path.open("ab") as file:
        file.write(_header(rows=1000, bytes=8000) + bytes(3000))
    skipped = Skipped()
    assert [batch.rows.tolist() for batch in read_input_log(path, skipped)] == [[[1.0]]]  # type: ignore[union-attr]
    assert skipped.problems == [
        f"{path}: byte {whole}: the entry is cut short: 3000 of its 8000 payload bytes are there; "
        f"skipped {path.stat().st_size - whole} bytes"
    ]


def test_the_issue_8_tear_loses_only_the_torn_entry(tmp_path: Path) -> None:
    # Issue 8: a full disk left an entry cut short, later entries were appended after it, and the
    # reader stopped at the next header, losing every request logged after the damage.
    log = InputLog(InputLogConfig(tmp_path), ["a", "b"])
    log.append(np.arange(20, dtype=np.float64).reshape(10, 2), 10)
    log.flush()
    path = tmp_path / LOG_NAME
    torn = _header(features=["a", "b"], rows=6480, bytes=103680) + bytes(50131)
    with path.open("ab") as file:
        file.write(torn)
    for number in range(50):
        log.append(np.full((1, 2), float(number)), 1)
        log.flush()
    skipped = Skipped()
    batches = list(read_input_log(path, skipped))
    assert len(batches) == 51 and len(skipped.problems) == 1 and skipped.bytes == len(torn)
    assert [float(batch.rows[0][0]) for batch in batches[1:]] == [float(n) for n in range(50)]


def test_entries_written_before_the_marker_are_still_read(tmp_path: Path) -> None:
    legacy = _header(rows=1, bytes=8)[len(MAGIC) :] + np.array([4.0]).tobytes()
    (tmp_path / LOG_NAME).write_bytes(legacy)
    _logged(tmp_path, 5.0)
    assert _column(tmp_path) == [4.0, 5.0]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB filesystem (tmpfs), to fill up."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_leaves_whole_entries_and_later_ones_follow(small_disk: Path) -> None:
    drops: list[tuple[str, int]] = []
    log = InputLog(InputLogConfig(small_disk / "log"), ["a", "b", "c", "d"], on_drop=lambda *drop: drops.append(drop))
    filler = small_disk / "filler"
    filler.write_bytes(bytes(600 * 1024))
    logged = 0
    while not drops and logged < 40:  # 32 KiB entries: the disk fills within about 13
        log.append(np.full((1000, 4), float(logged)), 1000)
        log.flush()
        logged += 1
    assert drops == [("write_failed", 1000)]
    path = small_disk / "log" / LOG_NAME
    skipped = Skipped()
    before = [float(batch.rows[0][0]) for batch in read_input_log(path, skipped)]
    assert before == [float(n) for n in range(logged - 1)] and not skipped.problems  # ends on a whole entry
    filler.unlink()  # space comes back
    for number in range(logged, logged + 10):
        log.append(np.full((1000, 4), float(number)), 1000)
        log.flush()
    after = [float(batch.rows[0][0]) for batch in read_input_log(path, skipped)]
    assert after == [*before, *(float(n) for n in range(logged, logged + 10))] and not skipped.problems


def test_a_reader_holding_the_lock_never_blocks_the_writer(tmp_path: Path) -> None:
    drops: list[tuple[str, int]] = []
    config = InputLogConfig(tmp_path, queue_bytes=100 * 800, close_seconds=0.5)  # about 100 batches
    log = InputLog(config, ["a"], on_drop=lambda *drop: drops.append(drop))
    with (tmp_path / LOCK_NAME).open("a") as reader:
        fcntl.flock(reader, fcntl.LOCK_SH)  # what the documented reader holds
        started = time.monotonic()
        for number in range(300):  # three times what the queue holds
            log.append(np.full((100, 1), float(number)), 100)
            log.flush()
        assert time.monotonic() - started < 5  # each flush only tried the lock
        started = time.monotonic()
        log.close()
        assert time.monotonic() - started < 0.5 + 2  # close_seconds, then it gave up
    full = sum(rows for reason, rows in drops if reason == "queue_full")
    (shutdown,) = (rows for reason, rows in drops if reason == "shutdown")
    assert full > 0 and full + shutdown == 300 * 100
    assert shutdown * 8 <= config.queue_bytes  # what waited in memory stayed under the bound
    assert not (tmp_path / LOG_NAME).exists()


def test_flagged_batches_are_entries_of_their_own_that_name_their_values(tmp_path: Path) -> None:
    log = InputLog(InputLogConfig(tmp_path), ["a", "b"])
    log.append(np.zeros((2, 2)), 2)
    log.append(np.ones((3, 2)), 3, [(2, "b", "above_max")])
    log.append([["x", None]], 1, [(0, "a", "unknown_category")])
    log.append(np.zeros((1, 2)), 1)
    log.flush()
    batches = _batches(tmp_path)
    assert [len(batch.rows) for batch in batches] == [2, 3, 1, 1]
    assert [batch.flagged for batch in batches] == [(), ((2, "b", "above_max"),), ((0, "a", "unknown_category"),), ()]
    headers = [orjson.loads(entry.split(b"\n", 1)[0]) for entry in (tmp_path / LOG_NAME).read_bytes().split(MAGIC)[1:]]
    assert "flagged" not in headers[0] and headers[1]["flagged"] == [[2, "b", "above_max"]]
