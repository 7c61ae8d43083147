"""The bounded, rotating log of every predicted input, kept for drift checks.

Requests only append a reference to their batch to an in-memory list; a background thread writes the
batches every `flush_seconds` (or sooner when much is waiting), so a request never waits for a disk.
Several worker processes share one file: each flush takes an exclusive `flock` on `inputs.lock`,
rotates `inputs.log` to `inputs.log.1` (and so on, keeping `backups` old files) when the next write
would pass `max_bytes`, and appends its entries (O_APPEND). The log holds at most about
`max_bytes * (backups + 1)` bytes; a single flush bigger than the cap keeps the newest whole entries that fit.

The log is a sequence of entries: a header line of compact JSON ended by a newline,
`{"time": <unix seconds>, "features": [names...], "rows": N, "encoding": E, "bytes": B}`, then exactly
B payload bytes. Encoding `float64-le`: N x len(features) little-endian doubles, row-major (numpy's
`tobytes()` of a C-contiguous `<f8` matrix), so values come back bit for bit; `json`: the UTF-8 JSON
array of N row arrays, for models with non-numeric features. Numeric batches that arrive within one
flush share entries of up to ENTRY_ROWS rows, stamped with the arrival of the first; their payload is
the requests' matrix memory (copied once to join them), so a flush formats no floats and holds the
GIL for microseconds per thousand rows. Read the log with `read_input_log`, oldest file first (holding
a shared `flock` on `inputs.lock` if servers are still writing it):

    for path in log_files(Path("input-log")):
        for batch in read_input_log(path):
            print(batch.time, batch.features, len(batch.rows))
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
from numpy.typing import NDArray

from lockship.core.errors import LockshipError

log = logging.getLogger("lockship.serve")

LOG_NAME = "inputs.log"
LOCK_NAME = "inputs.lock"
FLOAT64, JSON = "float64-le", "json"
# Flush early once this many rows wait, so a burst of big batches does not pile up in memory.
EARLY_FLUSH_ROWS = 50_000
# What a reader holds at once (2.4 MB at 30 features); the header's cost vanishes at this size.
ENTRY_ROWS = 10_000
HEADER_LIMIT = 1 << 20

Matrix = NDArray[np.float64]
Entry = tuple[bytes, bytes | memoryview]  # header line, payload


@dataclass(frozen=True)
class InputLogConfig:
    directory: Path
    max_bytes: int = 64 * 1024 * 1024
    backups: int = 3
    flush_seconds: float = 0.2


@dataclass(frozen=True, eq=False)
class LoggedBatch:
    """One entry: a read-only float64 matrix (one row per input), or a list of row lists for `json`."""

    time: float
    features: tuple[str, ...]
    rows: Matrix | list[list[Any]]


class InputLog:
    """Buffer batches in memory, write them as framed entries from one thread."""

    def __init__(self, config: InputLogConfig, features: Sequence[str]) -> None:
        self.config = config
        self.features = list(features)
        # A quarter of the cap at most, so even a tiny cap keeps whole entries.
        self._entry_rows = max(1, min(ENTRY_ROWS, config.max_bytes // (32 * max(1, len(self.features)))))
        self._pending: list[tuple[float, Any]] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        config.directory.mkdir(parents=True, exist_ok=True)
        # Fail at start, not at the first flush, when the directory is not writable.
        with open(config.directory / LOCK_NAME, "a"):
            pass

    @property
    def path(self) -> Path:
        return self.config.directory / LOG_NAME

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lockship-input-log", daemon=True)
        self._thread.start()

    def append(self, rows: Any, count: int) -> None:
        """Queue a batch (a numpy matrix, not to be changed afterwards, or a list of row lists); never blocks on I/O."""
        with self._lock:
            self._pending.append((time.time(), rows))
            self._rows += count
        if self._rows >= EARLY_FLUSH_ROWS:
            self._wake.set()

    def close(self) -> None:
        """Stop the thread and write whatever is still waiting."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except OSError as error:  # a full disk must not take the server down; the loss is logged
                log.error("input log: cannot write to %s: %s", self.config.directory, error.strerror)

    def flush(self) -> None:
        with self._lock:  # appends during the write land in the new list
            pending, self._pending = self._pending, []
            self._rows = 0
        entries: list[Entry] = []
        group: list[Any] = []
        grouped, first = 0, 0.0
        for stamp, rows in pending:
            if not isinstance(rows, np.ndarray):
                if group:
                    entries.append(self._numeric(first, group))
                    group, grouped = [], 0
                time.sleep(0)  # orjson holds the GIL for a whole batch: let the event loop in between
                entries.append(self._entry(stamp, JSON, len(rows), orjson.dumps(rows)))
                continue
            start = 0
            while start < len(rows):
                if not group:
                    first = stamp
                piece = rows[start : start + self._entry_rows - grouped]
                group.append(piece)
                grouped += len(piece)
                start += len(piece)
                if grouped == self._entry_rows:
                    entries.append(self._numeric(first, group))
                    group, grouped = [], 0
        if group:
            entries.append(self._numeric(first, group))
        if entries:
            self._write(entries)

    def _numeric(self, stamp: float, group: list[Any]) -> Entry:
        # One copy at most (none for a lone C-contiguous float64 batch), and the requests' matrices never change.
        matrix = np.ascontiguousarray(np.concatenate(group) if len(group) > 1 else group[0], dtype="<f8")
        return self._entry(stamp, FLOAT64, len(matrix), matrix.data.cast("B"))

    def _entry(self, stamp: float, encoding: str, rows: int, payload: bytes | memoryview) -> Entry:
        header = {"time": stamp, "features": self.features, "rows": rows, "encoding": encoding, "bytes": len(payload)}
        return orjson.dumps(header, option=orjson.OPT_APPEND_NEWLINE), payload

    def _write(self, entries: list[Entry]) -> None:
        with open(self.config.directory / LOCK_NAME, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                size = self.path.stat().st_size if self.path.exists() else 0
                sizes = [len(header) + len(payload) for header, payload in entries]
                if size and size + sum(sizes) > self.config.max_bytes:
                    self._rotate()
                # A single flush bigger than the cap keeps the newest whole entries that fit, as rotation does.
                ends = itertools.accumulate(reversed(sizes))
                fitting = sum(1 for end in ends if end <= self.config.max_bytes)
                if fitting < len(entries):
                    log.warning(
                        "input log: one flush passed --input-log-max-bytes; dropped its %d oldest of %d entries",
                        len(entries) - fitting,
                        len(entries),
                    )
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    for entry in entries[len(entries) - fitting :]:
                        for buffer in entry:
                            view = memoryview(buffer)
                            while view:  # a regular file takes it all at once, bar a full disk or a signal
                                view = view[os.write(descriptor, view) :]
                finally:
                    os.close(descriptor)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _rotate(self) -> None:
        directory = self.config.directory
        if self.config.backups == 0:
            self.path.unlink(missing_ok=True)
            return
        for number in range(self.config.backups - 1, 0, -1):
            older = directory / f"{LOG_NAME}.{number}"
            if older.exists():
                os.replace(older, directory / f"{LOG_NAME}.{number + 1}")
        os.replace(self.path, directory / f"{LOG_NAME}.1")


def log_files(directory: Path) -> list[Path]:
    """The log's files, oldest first: `inputs.log.N`, ..., `inputs.log.1`, `inputs.log`."""
    numbered = {int(path.suffix[1:]): path for path in directory.glob(f"{LOG_NAME}.*") if path.suffix[1:].isdigit()}
    files = [numbered[number] for number in sorted(numbered, reverse=True)]
    current = directory / LOG_NAME
    return [*files, current] if current.exists() else files


def read_input_log(path: Path) -> Iterator[LoggedBatch]:
    """The entries of one log file in order; a damaged one raises `LockshipError("path: byte N: ...")`."""
    with open(path, "rb") as file:
        while line := file.readline(HEADER_LIMIT):
            yield _read_entry(path, file.tell() - len(line), line, file)


def _read_entry(path: Path, offset: int, line: bytes, file: IO[bytes]) -> LoggedBatch:
    def problem(what: str) -> LockshipError:
        return LockshipError(f"{path}: byte {offset}: {what}")

    if not line.endswith(b"\n"):
        raise problem("the header line is cut short" if len(line) < HEADER_LIMIT else "the header line is too long")
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise problem(f"the header is not JSON ({error})") from None
    get = header.get if isinstance(header, dict) else {}.get
    stamp, features, rows, size, encoding = get("time"), get("features"), get("rows"), get("bytes"), get("encoding")
    names = features if isinstance(features, list) and all(isinstance(name, str) for name in features) else None
    counts = (rows, size) if type(rows) is int and type(size) is int and min(rows, size) >= 0 else None
    if not isinstance(stamp, (int, float)) or names is None or counts is None:
        raise problem('the header needs "time", "features" (names), "rows" and "bytes" (counts)')
    rows, size = counts
    if encoding not in (FLOAT64, JSON):
        raise problem(f"unknown encoding {encoding!r}")
    if encoding == FLOAT64 and size != rows * len(names) * 8:
        raise problem(f"{size} payload bytes, expected {rows * len(names) * 8} for {rows} x {len(names)} float64")
    left = os.fstat(file.fileno()).st_size - file.tell()
    if left < size:
        raise problem(f"the entry is cut short: {left} of its {size} payload bytes are there")
    payload = file.read(size)
    if encoding == FLOAT64:
        return LoggedBatch(float(stamp), tuple(names), np.frombuffer(payload, dtype="<f8").reshape(rows, len(names)))
    try:
        values = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise problem(f"the json payload is not JSON ({error})") from None
    if not (isinstance(values, list) and len(values) == rows and all(isinstance(row, list) for row in values)):
        raise problem(f"the json payload is not a list of {rows} rows")
    return LoggedBatch(float(stamp), tuple(names), values)
