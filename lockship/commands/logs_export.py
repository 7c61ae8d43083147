"""`lockship logs export`: turn input-log directories into one Parquet or CSV file (time, then the features)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.monitoring.export import FORMATS, export_logs
from lockship.monitoring.sources import input_size, progress, quiet_reader

MAX_DAMAGE_LINES = 10


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship logs export", description=__doc__)
    parser.add_argument("directories", nargs="+", metavar="LOGDIR", help="input-log directories (one per replica)")
    parser.add_argument("--format", choices=FORMATS, help="default: from the output's suffix")
    parser.add_argument("--since", help="only entries at or after this ISO 8601 time (UTC unless it has an offset)")
    parser.add_argument("-o", "--output", required=True, help="the file to write")
    return parser.parse_args(argv)


def parse_since(text: str) -> float:
    """Unix seconds of an ISO 8601 time; a time without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LockshipError(
            f"--since: '{text}' is not an ISO 8601 time such as 2026-01-31T12:00:00Z", exit_code=EXIT_USAGE
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def output_format(output: str, given: str | None) -> str:
    if given is not None:
        return given
    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix in ("parquet", "pq"):
        return "parquet"
    if suffix == "csv":
        return "csv"
    raise LockshipError(
        f"{output}: cannot tell the format from the suffix; pass --format parquet or csv", exit_code=EXIT_USAGE
    )


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_reader()
    form = output_format(args.output, args.format)
    since = parse_since(args.since) if args.since is not None else None
    total = input_size(args.directories)
    with progress(total, "export") as advance:
        result = export_logs(args.directories, output=Path(args.output), format=form, since=since, advance=advance)
    problems = result.skipped.problems
    for line in problems[:MAX_DAMAGE_LINES]:
        print(f"note: {line}", file=sys.stderr)
    if len(problems) > MAX_DAMAGE_LINES:
        print(f"note: {len(problems) - MAX_DAMAGE_LINES} more damaged stretch(es) skipped", file=sys.stderr)
    damaged = f"; skipped {len(problems)} damaged stretch(es), {result.skipped.bytes:,} bytes" if problems else ""
    print(f"{args.output}: {result.rows:,} rows from {result.entries:,} entries{damaged}")
    return 0
