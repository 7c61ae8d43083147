"""Input-log directories to one Parquet or CSV file that pandas, DuckDB or Spark read directly.

Columns: `time` (the entry's arrival time, UTC, microseconds; the rows of one entry share it), then
the logged features in the log's order. Entries are streamed: memory holds one row group at most.
The file appears whole or not at all: it is written beside its target and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lockship.core.errors import LockshipError
from lockship.monitoring.sources import input_size
from lockship.serving.logformat import LoggedBatch, Skipped, log_files, read_input_log

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("parquet", "csv")
ROW_GROUP_ROWS = 131_072


@dataclass
class Exported:
    rows: int = 0
    entries: int = 0
    skipped: Skipped = field(default_factory=Skipped)


def export_logs(
    directories: Sequence[str],
    *,
    output: Path,
    format: str,
    since: float | None = None,
    advance: Callable[[int], object] | None = None,
) -> Exported:
    """Write every whole entry of `directories` (at or after `since`, unix seconds) to `output`."""
    input_size(directories)  # every path is a log directory, or one line says what it is
    for name in directories:
        if not Path(name).is_dir():
            raise LockshipError(f"{name}: expected an input-log directory (`lockship serve --input-log`)")
    result = Exported()
    batches = _entries(directories, result.skipped, advance)
    first = next(batches, None)
    if first is None:
        damaged = f" ({len(result.skipped.problems)} damaged stretch(es) skipped)" if result.skipped.problems else ""
        raise LockshipError(f"{', '.join(directories)}: no input-log entries to export{damaged}")
    path, batch = first
    schema = _schema(batch)
    with _replacing(output) as temporary, _writer(format, temporary, schema) as write:
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for path, batch in _chain(first, batches):
            if since is not None and batch.time < since:
                continue
            record = _record(path, batch, schema)
            result.rows += record.num_rows
            result.entries += 1
            pending.append(record)
            pending_rows += record.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                write(pending, schema)
                pending, pending_rows = [], 0
        write(pending, schema)
    return result


def _entries(
    directories: Sequence[str], skipped: Skipped, advance: Callable[[int], object] | None
) -> Iterator[tuple[Path, LoggedBatch]]:
    for name in directories:
        for path in log_files(Path(name)):
            for batch in read_input_log(path, skipped):
                yield path, batch
            if advance is not None:
                advance(path.stat().st_size)


def _chain(
    first: tuple[Path, LoggedBatch], rest: Iterator[tuple[Path, LoggedBatch]]
) -> Iterator[tuple[Path, LoggedBatch]]:
    yield first
    yield from rest


def _schema(batch: LoggedBatch) -> pa.Schema:
    import pyarrow as pa

    fields = [pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False)]
    if isinstance(batch.rows, np.ndarray):
        return pa.schema(fields + [pa.field(name, pa.float64()) for name in batch.features])
    for index, name in enumerate(batch.features):
        kind = pa.array([row[index] for row in batch.rows]).type
        # JSON writes 5 and 5.0 alike, so whole numbers are read as doubles; an all-null column as text.
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            kind = pa.float64()
        elif pa.types.is_null(kind):
            kind = pa.string()
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


def _record(path: Path, batch: LoggedBatch, schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    features = list(schema.names[1:])
    if list(batch.features) != features:
        raise LockshipError(
            f"{path}: logs features {', '.join(batch.features)}, but the first entry logged {', '.join(features)}; "
            "export the logs of one model at a time"
        )
    rows = len(batch.rows)
    stamp = np.full(rows, round(batch.time * 1_000_000), dtype=np.int64)
    columns: list[Any] = [pa.array(stamp, type=schema.field("time").type)]
    if isinstance(batch.rows, np.ndarray):
        columns += [pa.array(batch.rows[:, index]) for index in range(len(features))]
    else:
        for index, name in enumerate(features):
            values = [row[index] for row in batch.rows]
            try:
                columns.append(pa.array(values).cast(schema.field(name).type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
                raise LockshipError(f"{path}: feature '{name}' changes type between entries ({error})") from None
    return pa.RecordBatch.from_arrays(columns, schema=schema)


@contextlib.contextmanager
def _writer(format: str, path: str, schema: pa.Schema) -> Iterator[Callable[[list[pa.RecordBatch], pa.Schema], None]]:
    import pyarrow as pa
    from pyarrow import csv, parquet

    writer: Any = parquet.ParquetWriter(path, schema) if format == "parquet" else csv.CSVWriter(path, schema)

    def write(batches: list[pa.RecordBatch], schema: pa.Schema) -> None:
        if batches:
            writer.write_table(pa.Table.from_batches(batches, schema=schema))

    try:
        yield write
    finally:
        writer.close()


@contextlib.contextmanager
def _replacing(target: Path) -> Iterator[str]:
    """A temporary path beside `target`, renamed onto it when the block succeeds, removed otherwise."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 is not what `open` would give
        os.replace(temporary, target)
    except OSError as error:
        raise LockshipError(f"{target}: cannot write: {error.strerror}") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
