"""The bounded, rotating log of every predicted input, kept for drift checks.

Requests only append a reference to their batch to an in-memory list; a background thread turns
batches into JSON lines and appends them every `flush_seconds` (or sooner when much is waiting),
so a request never waits for a disk. Several worker processes share one file: each flush takes an
exclusive `flock` on `inputs.lock`, rotates `inputs.jsonl` to `inputs.jsonl.1` (and so on, keeping
`backups` old files) when the next write would pass `max_bytes`, and appends with one `write`.
The log therefore holds at most about `max_bytes * (backups + 1)` bytes.

Each line: `{"time": <unix seconds>, "features": [names...], "rows": [[values...], ...]}`. Numeric
batches that arrive within one flush share a line of up to LINE_ROWS rows, stamped with the arrival
of the first; serialising in such pieces, yielding the GIL between them, keeps each hold of it well
under a millisecond, so the server's tail latency does not grow with the log.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

log = logging.getLogger("lockship.serve")

LOG_NAME = "inputs.jsonl"
LOCK_NAME = "inputs.lock"
# Flush early once this many rows wait, so a burst of big batches does not pile up in memory.
EARLY_FLUSH_ROWS = 50_000
LINE_ROWS = 500


@dataclass(frozen=True)
class InputLogConfig:
    directory: Path
    max_bytes: int = 64 * 1024 * 1024
    backups: int = 3
    flush_seconds: float = 0.2


class InputLog:
    """Buffer batches in memory, write them as JSON lines from one thread."""

    def __init__(self, config: InputLogConfig, features: Sequence[str]) -> None:
        self.config = config
        self.features = list(features)
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
        """Queue a batch (a numpy matrix or a list of row lists); never blocks on I/O."""
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
        if not pending:
            return
        header = orjson.dumps(self.features)

        def line(stamp: float, rows: Any) -> bytes:
            time.sleep(0)  # let the event loop have the GIL between pieces
            values = orjson.dumps(rows, option=orjson.OPT_SERIALIZE_NUMPY)
            return b'{"time":%s,"features":%s,"rows":%s}\n' % (orjson.dumps(stamp), header, values)

        lines: list[bytes] = []
        group: list[np.ndarray[Any, Any]] = []
        grouped, first = 0, 0.0
        for stamp, rows in pending:
            if not isinstance(rows, np.ndarray):
                if group:
                    lines.append(line(first, np.concatenate(group)))
                    group, grouped = [], 0
                lines.append(line(stamp, rows))
                continue
            for start in range(0, len(rows), LINE_ROWS):
                piece = rows[start : start + LINE_ROWS]
                if not group:
                    first = stamp
                group.append(piece)
                grouped += len(piece)
                if grouped >= LINE_ROWS:
                    lines.append(line(first, np.concatenate(group)))
                    group, grouped = [], 0
        if group:
            lines.append(line(first, np.concatenate(group)))
        self._write(b"".join(lines))

    def _write(self, data: bytes) -> None:
        with open(self.config.directory / LOCK_NAME, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                size = self.path.stat().st_size if self.path.exists() else 0
                if size and size + len(data) > self.config.max_bytes:
                    self._rotate()
                # A single batch bigger than the cap is cut to whole lines that fit.
                if len(data) > self.config.max_bytes:
                    data = data[: data.rfind(b"\n", 0, self.config.max_bytes) + 1]
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(descriptor, data)
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
