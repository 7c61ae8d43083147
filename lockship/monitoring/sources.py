"""Current data, streamed in chunks: input-log directories entry by entry, CSV and Parquet in Arrow batches.

Memory stays bounded by one chunk (an input-log entry of at most 10,000 rows, an Arrow batch) whatever
the size of the input. Every problem with an input is one line naming the path.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from lockship.core.errors import LockshipError
from lockship.core.progress import progress_bar
from lockship.serving.logformat import LOG_NAME, LoggedBatch, Skipped, log_files, read_input_log

if TYPE_CHECKING:
    import pyarrow as pa

FILE_SUFFIXES = (".csv", ".parquet", ".pq")
BATCH_ROWS = 65_536
# pyarrow's default; bigger blocks are no faster and hold more in its memory pool (275 vs 160 MiB peak at 1M x 20)
CSV_BLOCK_BYTES = 1 << 20
# Inputs smaller than this are read before a progress bar would be worth drawing.
PROGRESS_BYTES = 16 << 20


def quiet_reader() -> None:
    """Keep the log reader's own warnings off stderr: the commands print each damaged stretch once."""
    reader = logging.getLogger("lockship.inputlog")
    reader.addHandler(logging.NullHandler())
    reader.propagate = False


@dataclass
class Chunk:
    """Some rows of current data: numeric features as float64 (NaN = missing), categorical ones counted."""

    rows: int
    numeric: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    categories: dict[str, tuple[Counter[str], int]] = field(default_factory=dict)  # counts, missing


@dataclass(frozen=True)
class Wanted:
    """The features to read, by kind."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)


def input_size(paths: Sequence[str]) -> int:
    """The bytes to read, for a progress bar; an unusable path is one line."""
    total = 0
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files = log_files(path)
            if not files:
                raise LockshipError(
                    f"{name}: no input log here (expected {LOG_NAME} from `lockship serve --input-log`)"
                )
            total += sum(file.stat().st_size for file in files)
        elif path.suffix.lower() in FILE_SUFFIXES and path.is_file():
            total += path.stat().st_size
        elif not path.exists():
            raise LockshipError(f"{name}: no such file or directory")
        else:
            raise LockshipError(f"{name}: expected an input-log directory or a .csv/.parquet file")
    return total


@contextlib.contextmanager
def progress(total: int, description: str) -> Iterator[Callable[[int], object] | None]:
    """`advance(bytes)` for a bar on a terminal, or None when the input is too small to need one."""
    if total < PROGRESS_BYTES:
        yield None
        return
    with progress_bar(total, description, unit="B") as bar:
        yield bar.update


def stream(
    paths: Sequence[str], wanted: Wanted, skipped: Skipped, advance: Callable[[int], object] | None = None
) -> Iterator[Chunk]:
    """Chunks of every input in turn; `advance(bytes)` is called as the inputs are read."""
    input_size(paths)  # every path is usable before the first is read
    for name in paths:
        path = Path(name)
        try:
            if path.is_dir():
                yield from _log_chunks(path, wanted, skipped, advance)
            elif path.suffix.lower() == ".csv":
                yield from _csv_chunks(path, wanted, advance)
            else:
                yield from _parquet_chunks(path, wanted, advance)
        except OSError as error:
            raise LockshipError(f"{error.filename or path}: cannot read: {error.strerror or error}") from None


def _log_chunks(
    directory: Path, wanted: Wanted, skipped: Skipped, advance: Callable[[int], object] | None
) -> Iterator[Chunk]:
    for path in log_files(directory):
        size, reported = path.stat().st_size, 0
        for batch in read_input_log(path, skipped):
            chunk = log_chunk(path, batch, wanted)
            if advance is not None:  # the payload's size: close enough for a progress bar
                step = min(chunk.rows * len(batch.features) * 8, size - reported)
                reported += step
                advance(step)
            yield chunk
        if advance is not None:
            advance(size - reported)


def check_log_features(path: Path, features: Sequence[str], wanted: Sequence[str]) -> None:
    """A log from another model (or a profile from another model) is one line saying which names differ."""
    missing = sorted(set(wanted) - set(features))
    extra = sorted(set(features) - set(wanted))
    if missing or extra:
        parts = [f"lacks {', '.join(missing)}" if missing else "", f"has {', '.join(extra)} besides" if extra else ""]
        raise LockshipError(
            f"{path}: the logged features differ from the profile's: it {'; '.join(p for p in parts if p)}; "
            "is the profile from another model?"
        )


def log_chunk(path: Path, batch: LoggedBatch, wanted: Wanted) -> Chunk:
    check_log_features(path, batch.features, wanted.names)
    index = {name: position for position, name in enumerate(batch.features)}
    rows = batch.rows
    if isinstance(rows, np.ndarray):
        columns = np.ascontiguousarray(rows.T)  # one copy per entry; every column is then contiguous
        return Chunk(len(rows), numeric={name: columns[index[name]] for name in wanted.numeric})
    chunk = Chunk(len(rows))
    for name in wanted.numeric:
        values = [row[index[name]] for row in rows]
        try:
            chunk.numeric[name] = np.array(values, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise LockshipError(f"{path}: feature '{name}' holds values that are not numbers ({error})") from None
    for name in wanted.categorical:
        values = [row[index[name]] for row in rows]
        present = [str(value) for value in values if value is not None]
        chunk.categories[name] = (Counter(present), len(values) - len(present))
    return chunk


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle), [])
    except UnicodeDecodeError as error:
        raise LockshipError(f"{path}:1: not UTF-8 text; is it really a CSV file?") from error


def check_columns(path: Path, columns: Sequence[str], wanted: Sequence[str]) -> None:
    missing = [name for name in wanted if name not in set(columns)]
    if missing:
        raise LockshipError(
            f"{path}: missing column(s) the profile has: {', '.join(missing)}; is the profile from another model?"
        )


def _csv_chunks(path: Path, wanted: Wanted, advance: Callable[[int], object] | None) -> Iterator[Chunk]:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    check_columns(path, _csv_header(path), wanted.names)
    types = {name: pa.float64() for name in wanted.numeric} | {name: pa.string() for name in wanted.categorical}
    convert = pacsv.ConvertOptions(include_columns=list(wanted.names), column_types=types, strings_can_be_null=True)
    with open(path, "rb") as raw:
        try:
            reader = pacsv.open_csv(
                raw, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES), convert_options=convert
            )
            position = 0
            for batch in reader:
                if advance is not None:
                    now = raw.tell()
                    advance(now - position)
                    position = now
                yield arrow_chunk(batch, wanted)
        except pa.ArrowInvalid as error:
            raise LockshipError(f"{path}: {_arrow_message(error)}") from None


def _parquet_chunks(path: Path, wanted: Wanted, advance: Callable[[int], object] | None) -> Iterator[Chunk]:
    import pyarrow as pa
    from pyarrow import parquet

    try:
        file = parquet.ParquetFile(path)
        check_columns(path, file.schema_arrow.names, wanted.names)
        total, step = max(1, file.metadata.num_rows), os.path.getsize(path)
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=list(wanted.names)):
            if advance is not None:
                advance(step * batch.num_rows // total)
            yield arrow_chunk(_cast(path, batch, wanted), wanted)
    except (pa.ArrowInvalid, OSError) as error:
        raise LockshipError(f"{path}: not a readable Parquet file: {_arrow_message(error)}") from None


def _cast(path: Path, batch: pa.RecordBatch, wanted: Wanted) -> pa.RecordBatch:
    import pyarrow as pa

    columns = []
    for name in wanted.names:
        column = batch.column(name)
        target = pa.float64() if name in wanted.numeric else pa.string()
        try:
            columns.append(column.cast(target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            kind = "numbers" if target == pa.float64() else "text"
            raise LockshipError(
                f"{path}: column '{name}' is {column.type}, expected {kind} as in the profile"
            ) from None
    return pa.RecordBatch.from_arrays(columns, names=list(wanted.names))


def arrow_chunk(batch: pa.RecordBatch, wanted: Wanted) -> Chunk:
    import pyarrow.compute as pc

    chunk = Chunk(batch.num_rows)
    for name in wanted.numeric:
        chunk.numeric[name] = batch.column(name).to_numpy(zero_copy_only=False)
    for name in wanted.categorical:
        column = batch.column(name)
        counted = pc.value_counts(column.drop_null())
        counts = Counter(
            dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True))
        )
        chunk.categories[name] = (counts, column.null_count)
    return chunk


def _arrow_message(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
