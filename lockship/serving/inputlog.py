"""The bounded, rotating log of every predicted input, kept for drift checks (see docs/serving.md).

Requests only queue a reference to their batch (at most `queue_bytes` wait; more are dropped and
counted); a background thread writes them every `flush_seconds`, so a request never waits for a disk.
Several processes share one file: a write takes an exclusive `flock` on `inputs.lock`, only ever
tried (a reader holding the shared lock delays entries, never the writer; at shutdown they wait at
most `close_seconds`), rotates `inputs.log` to `inputs.log.1`... when the next write would pass
`max_bytes`, and appends whole entries; a failed write is cut back to the last whole entry. Numeric
batches of one flush share entries of up to ENTRY_ROWS rows whose payload is the requests' own
matrix memory, so a flush formats no floats. The format and its reader: `lockship.serving.logformat`.

    for path in log_files(Path("input-log")):
        for batch in read_input_log(path):
            print(batch.time, batch.features, len(batch.rows))
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from lockship.serving.logformat import (
    FLOAT64,
    JSON,
    LOCK_NAME,
    LOG_NAME,
    Entry,
    Flagged,
    append_whole,
    header_line,
    rotate,
)
from lockship.serving.logformat import LoggedBatch as LoggedBatch
from lockship.serving.logformat import Skipped as Skipped
from lockship.serving.logformat import log_files as log_files
from lockship.serving.logformat import read_input_log as read_input_log

log = logging.getLogger("lockship.serve")

# Flush early once this many rows wait, so a burst of big batches does not pile up in memory.
EARLY_FLUSH_ROWS = 50_000
# What a reader holds at once (2.4 MB at 30 features); the header's cost vanishes at this size.
ENTRY_ROWS = 10_000
# What a value of a `json` batch is taken to cost in the queue (a Python object and its list slot).
JSON_VALUE_BYTES = 64
LOCK_RETRY_SECONDS = 0.01


@dataclass(frozen=True)
class InputLogConfig:
    directory: Path
    max_bytes: int = 64 * 1024 * 1024
    backups: int = 3
    flush_seconds: float = 0.2
    queue_bytes: int = 32 * 1024 * 1024
    close_seconds: float = 2.0


class InputLog:
    """Queue batches in memory, write them as framed entries from one thread."""

    def __init__(
        self, config: InputLogConfig, features: Sequence[str], on_drop: Callable[[str, int], None] | None = None
    ) -> None:
        self.config = config
        self.features = list(features)
        self.on_drop = on_drop
        # A quarter of the cap at most, so even a tiny cap keeps whole entries.
        self._entry_rows = max(1, min(ENTRY_ROWS, config.max_bytes // (32 * max(1, len(self.features)))))
        # arrival, rows, bytes counted in the queue, flagged values (record, feature, reason)
        self._pending: list[tuple[float, Any, int, Flagged]] = []
        self._rows = 0
        self._queued = 0  # bytes of the pending batches and of the entries still waiting for the lock
        self._backlog: list[Entry] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
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

    def append(self, rows: Any, count: int, flagged: Flagged = ()) -> None:
        """Queue a batch (a numpy matrix, not to be changed afterwards, or a list of row lists); never blocks on I/O.

        A batch with `flagged` values (record, feature, reason) becomes an entry of its own whose header lists them.
        """
        size = rows.nbytes if isinstance(rows, np.ndarray) else count * len(self.features) * JSON_VALUE_BYTES
        with self._lock:
            full = self._queued + size > self.config.queue_bytes
            if not full:
                self._pending.append((time.time(), rows, size, flagged))
                self._rows += count
                self._queued += size
        if full:
            self._drop("queue_full", count)
        elif self._rows >= EARLY_FLUSH_ROWS:
            self._wake.set()

    def close(self) -> None:
        """Stop the thread and write whatever is still waiting, giving up after `close_seconds`."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.close_seconds)
        self.flush(wait=self.config.close_seconds)
        with self._flushing:
            if self._backlog:
                log.error("input log: %s stayed locked; dropped the inputs still waiting", self.config.directory)
                self._drop("shutdown", sum(entry.rows for entry in self._backlog))
                self._backlog = []

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception as error:  # the thread must outlive any one flush; the loss is logged
                log.error("input log: flush failed: %s", error)

    def _drop(self, reason: str, rows: int) -> None:
        if self.on_drop is not None and rows:
            self.on_drop(reason, rows)

    def flush(self, *, wait: float = 0.0) -> None:
        """Write what is queued if the lock is free within `wait` seconds; otherwise keep it for the next flush."""
        with self._flushing:
            with self._lock:  # appends during the write land in the new list
                pending, self._pending = self._pending, []
                self._rows = 0
            self._backlog += self._entries(pending)
            self._recount()  # the entries' real size replaces the estimate made at append
            if not self._backlog:
                return
            try:
                lock = self._try_lock(time.monotonic() + wait)
            except OSError as error:
                log.error("input log: cannot lock %s: %s", self.config.directory, error.strerror)
                self._drop("write_failed", sum(entry.rows for entry in self._backlog))
                self._backlog = []
                self._recount()
                return
            if lock is None:
                return
            try:
                self._write(self._backlog)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
                lock.close()
                self._backlog = []
                self._recount()

    def _recount(self) -> None:
        with self._lock:
            self._queued = sum(entry.size for entry in self._backlog) + sum(pending[2] for pending in self._pending)

    def _try_lock(self, deadline: float) -> IO[str] | None:
        lock = open(self.config.directory / LOCK_NAME, "a")  # noqa: SIM115 (closed by the caller or below)
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return lock
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    lock.close()
                    return None
                time.sleep(LOCK_RETRY_SECONDS)

    def _entries(self, pending: list[tuple[float, Any, int, Flagged]]) -> list[Entry]:
        entries: list[Entry] = []
        group: list[Any] = []
        grouped, first = 0, 0.0
        for stamp, rows, _, flagged in pending:
            if not isinstance(rows, np.ndarray) or flagged:
                if group:
                    entries.append(self._numeric(first, group))
                    group, grouped = [], 0
                if isinstance(rows, np.ndarray):  # flagged rows keep their record numbers: an entry of their own
                    entries.append(self._numeric(stamp, [rows], flagged))
                    continue
                time.sleep(0)  # orjson holds the GIL for a whole batch: let the event loop in between
                payload = orjson.dumps(rows)
                header = header_line(stamp, self.features, len(rows), JSON, len(payload), flagged)
                entries.append(Entry(header, payload, len(rows)))
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
        return entries

    def _numeric(self, stamp: float, group: list[Any], flagged: Flagged = ()) -> Entry:
        # One copy at most (none for a lone C-contiguous float64 batch), and the requests' matrices never change.
        matrix = np.ascontiguousarray(np.concatenate(group) if len(group) > 1 else group[0], dtype="<f8")
        payload = matrix.data.cast("B")
        header = header_line(stamp, self.features, len(matrix), FLOAT64, len(payload), flagged)
        return Entry(header, payload, len(matrix))

    def _write(self, entries: list[Entry]) -> None:
        """Append whole entries (the caller holds the lock), rotating first when they would pass the cap."""
        # A single flush bigger than the cap keeps the newest whole entries that fit, as rotation does.
        ends = itertools.accumulate(entry.size for entry in reversed(entries))
        fitting = sum(1 for end in ends if end <= self.config.max_bytes)
        if fitting < len(entries):
            log.warning(
                "input log: one flush passed --input-log-max-bytes; dropped its %d oldest of %d entries",
                len(entries) - fitting,
                len(entries),
            )
        kept = entries[len(entries) - fitting :]
        written = 0
        try:
            size = self.path.stat().st_size if self.path.exists() else 0
            if size and size + sum(entry.size for entry in entries) > self.config.max_bytes:
                rotate(self.config.directory, self.config.backups)
            written = append_whole(self.path, kept)
        except OSError as error:
            log.error("input log: cannot write to %s: %s", self.config.directory, error.strerror)
        self._drop("write_failed", sum(entry.rows for entry in kept[written:]))
