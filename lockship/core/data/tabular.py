"""Reading and writing data tables (CSV, Parquet) with errors that name the file and line."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lockship.core.errors import LockshipError

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
_LINE_IN_MESSAGE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load a CSV or Parquet file; an empty, corrupt or unreadable file is a LockshipError."""
    import pandas as pd

    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise LockshipError(f"{name}: unsupported file type '{suffix}', expected .csv or .parquet")
    try:
        if os.path.getsize(name) == 0:
            raise LockshipError(f"{name}: file is empty")
    except FileNotFoundError as error:
        raise LockshipError(f"{name}: file not found") from error
    except OSError as error:
        raise LockshipError(f"{name}: cannot read: {error.strerror}") from error
    if suffix == ".csv":
        return _read_csv(name)
    try:
        return pd.read_parquet(name)
    except (OSError, ValueError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LockshipError(f"{name}: not a valid Parquet file: {first_line}") from error


def _read_csv(name: str) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_csv(name, encoding="utf-8", encoding_errors="strict")
    except UnicodeDecodeError as error:
        raise LockshipError(f"{name}:{_first_non_utf8_line(name)}: not UTF-8 text; is it really a CSV file?") from error
    except pd.errors.EmptyDataError as error:
        raise LockshipError(f"{name}: no header row; the file holds no columns") from error
    except pd.errors.ParserError as error:
        # pandas counts records, not lines: a quoted newline makes a record span several lines.
        match = _LINE_IN_MESSAGE.search(str(error))
        if match:
            expected, record, saw = match.groups()
            line = _physical_line(name, int(record))
            raise LockshipError(f"{name}:{line}: expected {expected} fields as in the header, saw {saw}") from error
        match = _OPEN_QUOTE.search(str(error))
        if match:
            line = _physical_line(name, int(match[1]) + 1)  # this one counts from 0
            raise LockshipError(f"{name}:{line}: a quoted value starts here and never ends") from error
        raise LockshipError(f"{name}: malformed CSV: {str(error).strip()}") from error
    unnamed = [str(column) for column in frame.columns if str(column).startswith("Unnamed: ")]
    if unnamed:
        raise LockshipError(f"{name}:1: the header has {len(unnamed)} empty column name(s)")
    duplicated = _duplicate_header_names(name)
    if duplicated:
        raise LockshipError(f"{name}:1: duplicate column name(s) in the header: {', '.join(duplicated)}")
    return frame


def _duplicate_header_names(name: str) -> list[str]:
    # pandas silently renames a repeated column "a" to "a.1"; read the header ourselves to catch it.
    import csv

    with open(name, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    return sorted({column for column in header if header.count(column) > 1})


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Serialise a table as CSV deterministically: no index, `\\n` line ends, floats that round-trip."""
    text: str = frame.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


def _physical_line(name: str, record: int) -> int:
    """The line on which the `record`-th record (1-based, header and blank lines included) starts."""
    import csv

    start = 1
    with open(name, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for number, _ in enumerate(reader, start=1):
                if number == record:
                    break
                start = reader.line_num + 1
        except csv.Error:  # an open quote runs to the end: the record starts where the last one ended
            pass
    return start


def _first_non_utf8_line(name: str) -> int:
    with open(name, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1
