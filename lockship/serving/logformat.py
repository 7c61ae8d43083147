"""The input log's files: their format, appending whole entries, rotation, and the reader.

A log file is a sequence of entries. Each starts with MAGIC (`\\x1eLOCKSHIP-LOG `, the record
separator of RFC 7464 and a name), then a header line of compact JSON ended by a newline,
`{"time": <unix seconds>, "features": [names...], "rows": N, "encoding": E, "bytes": B}`, then
exactly B payload bytes. Encoding `float64-le`: N x len(features) little-endian doubles, row-major
(numpy's `tobytes()` of a C-contiguous `<f8` matrix), so values come back bit for bit; `json`: the
UTF-8 JSON array of N row arrays, for models with non-numeric features.

The marker lets a reader step over damage (a write cut short by a crash, stray bytes): it scans
forward to the next marker and goes on from there, reporting and counting what it skipped. A JSON
payload never holds the marker's first byte, and a float64 payload holds the whole marker by
chance with odds of about 2^-112 per byte, so a marker inside a payload means that entry was cut
short and a later one starts there. Headers written before the marker existed (a line starting
with `{`) are still read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
from numpy.typing import NDArray

log = logging.getLogger("lockship.inputlog")

LOG_NAME = "inputs.log"
LOCK_NAME = "inputs.lock"
MAGIC = b"\x1eLOCKSHIP-LOG "
FLOAT64, JSON = "float64-le", "json"
HEADER_LIMIT = 1 << 20
SCAN_CHUNK = 1 << 20

Matrix = NDArray[np.float64]
# Values served although unlike the training data: (record in the entry, feature, reason).
Flagged = Sequence[tuple[int, str, str]]


@dataclass(frozen=True, eq=False)
class LoggedBatch:
    """One entry: a read-only float64 matrix (one row per input), or a list of row lists for `json`."""

    time: float
    features: tuple[str, ...]
    rows: Matrix | list[list[Any]]
    flagged: tuple[tuple[int, str, str], ...] = ()


@dataclass
class Skipped:
    """The damage a reader stepped over: one line per damaged stretch, and the bytes skipped in all."""

    problems: list[str] = field(default_factory=list)
    bytes: int = 0


@dataclass(frozen=True)
class Entry:
    header: bytes  # the marker and header line
    payload: bytes | memoryview
    rows: int

    @property
    def size(self) -> int:
        return len(self.header) + len(self.payload)


class _Damage(Exception):
    pass


def header_line(stamp: float, features: list[str], rows: int, encoding: str, size: int, flagged: Flagged = ()) -> bytes:
    """An entry's marker and header line; its payload of `size` bytes follows. `flagged` only when there are any."""
    header: dict[str, Any] = {"time": stamp, "features": features, "rows": rows, "encoding": encoding, "bytes": size}
    if flagged:
        header["flagged"] = [list(flag) for flag in flagged]
    return MAGIC + orjson.dumps(header, option=orjson.OPT_APPEND_NEWLINE)


def append_whole(path: Path, entries: Sequence[Entry]) -> int:
    """Append entries to `path` (the caller holds the lock) and return how many were written whole.

    A failed write (a full disk) cuts the file back to the end of the last whole entry, so no torn
    entry is left for later ones to follow; an OSError means that even the cut failed.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        whole = os.lseek(descriptor, 0, os.SEEK_END)
        for written, entry in enumerate(entries):
            try:
                for buffer in (entry.header, entry.payload):
                    view = memoryview(buffer)
                    while view:  # a regular file takes it all at once, bar a full disk or a signal
                        view = view[os.write(descriptor, view) :]
            except OSError as error:
                log.error("input log: cannot write to %s: %s", path, error.strerror)
                os.ftruncate(descriptor, whole)
                return written
            whole += entry.size
    finally:
        os.close(descriptor)
    return len(entries)


def rotate(directory: Path, backups: int) -> None:
    """`inputs.log` becomes `inputs.log.1`, and so on; the oldest beyond `backups` goes."""
    current = directory / LOG_NAME
    if backups == 0:
        current.unlink(missing_ok=True)
        return
    for number in range(backups - 1, 0, -1):
        older = directory / f"{LOG_NAME}.{number}"
        if older.exists():
            os.replace(older, directory / f"{LOG_NAME}.{number + 1}")
    os.replace(current, directory / f"{LOG_NAME}.1")


def log_files(directory: Path) -> list[Path]:
    """The log's files, oldest first: `inputs.log.N`, ..., `inputs.log.1`, `inputs.log`."""
    numbered = {int(path.suffix[1:]): path for path in directory.glob(f"{LOG_NAME}.*") if path.suffix[1:].isdigit()}
    files = [numbered[number] for number in sorted(numbered, reverse=True)]
    current = directory / LOG_NAME
    return [*files, current] if current.exists() else files


def read_input_log(path: Path, skipped: Skipped | None = None) -> Iterator[LoggedBatch]:
    """The whole entries of one log file in order, stepping over damage.

    Each damaged stretch is logged as `path: byte N: what is wrong; skipped K bytes` and added to
    `skipped` when one is given; every whole entry before and after it is read.
    """
    with open(path, "rb") as file:
        offset = 0
        while True:
            file.seek(offset)
            line = file.readline(HEADER_LIMIT)
            if not line:
                return
            try:
                batch = _read_entry(file, line)
            except _Damage as damage:
                resume = _next_marker(file, offset + 1)
                problem = f"{path}: byte {offset}: {damage}; skipped {resume - offset} bytes"
                log.warning("%s", problem)
                if skipped is not None:
                    skipped.problems.append(problem)
                    skipped.bytes += resume - offset
                offset = resume
                continue
            yield batch
            offset = file.tell()


def _next_marker(file: IO[bytes], start: int) -> int:
    """The offset of the first marker at or after `start`, or the end of the file."""
    file.seek(start)
    position, carry = start, b""
    while chunk := file.read(SCAN_CHUNK):
        buffer = carry + chunk
        found = buffer.find(MAGIC)
        if found >= 0:
            return position - len(carry) + found
        carry = buffer[-(len(MAGIC) - 1) :]
        position += len(chunk)
    return position


def _read_entry(file: IO[bytes], line: bytes) -> LoggedBatch:
    if line.startswith(MAGIC):
        line = line[len(MAGIC) :]
    elif not line.startswith(b"{"):
        raise _Damage("no entry starts here")
    if not line.endswith(b"\n") or MAGIC in line:  # cut short, and the next entry's header follows on
        raise _Damage("the header line is cut short" if len(line) < HEADER_LIMIT else "the header line is too long")
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise _Damage(f"the header is not JSON ({error})") from None
    get = header.get if isinstance(header, dict) else {}.get
    stamp, features, rows, size, encoding = get("time"), get("features"), get("rows"), get("bytes"), get("encoding")
    names = features if isinstance(features, list) and all(isinstance(name, str) for name in features) else None
    counts = (rows, size) if type(rows) is int and type(size) is int and min(rows, size) >= 0 else None
    if not isinstance(stamp, (int, float)) or names is None or counts is None:
        raise _Damage('the header needs "time", "features" (names), "rows" and "bytes" (counts)')
    rows, size = counts
    if encoding not in (FLOAT64, JSON):
        raise _Damage(f"unknown encoding {encoding!r}")
    if encoding == FLOAT64 and size != rows * len(names) * 8:
        raise _Damage(f"{size} payload bytes, expected {rows * len(names) * 8} for {rows} x {len(names)} float64")
    left = os.fstat(file.fileno()).st_size - file.tell()
    if left < size:
        raise _Damage(f"the entry is cut short: {left} of its {size} payload bytes are there")
    payload = file.read(size)
    end = file.tell()
    # A marker in the payload, or straddling its end, is a later entry: this one was cut short.
    inner = payload.find(MAGIC)
    if inner < 0 and size:
        tail = payload[-(len(MAGIC) - 1) :]
        found = (tail + file.read(len(MAGIC) - 1)).find(MAGIC)
        inner = -1 if found < 0 or found >= len(tail) else size - len(tail) + found
        file.seek(end)
    if inner >= 0:
        raise _Damage(f"the entry is cut short: the next entry starts {inner} bytes into its {size}-byte payload")
    flagged = _flagged(get("flagged", []))
    if encoding == FLOAT64:
        matrix = np.frombuffer(payload, dtype="<f8").reshape(rows, len(names))
        return LoggedBatch(float(stamp), tuple(names), matrix, flagged)
    try:
        values = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise _Damage(f"the json payload is not JSON ({error})") from None
    if not (isinstance(values, list) and len(values) == rows and all(isinstance(row, list) for row in values)):
        raise _Damage(f"the json payload is not a list of {rows} rows")
    return LoggedBatch(float(stamp), tuple(names), values, flagged)


def _flagged(listed: Any) -> tuple[tuple[int, str, str], ...]:
    """The header's `flagged` list; a malformed one is damage like any other bad header field."""
    shape_ok = isinstance(listed, list) and all(isinstance(flag, list) and len(flag) == 3 for flag in listed)
    if not shape_ok or not all(type(r) is int and isinstance(f, str) and isinstance(w, str) for r, f, w in listed):
        raise _Damage('"flagged" must be a list of [record, feature, reason]')
    return tuple((r, f, w) for r, f, w in listed)
