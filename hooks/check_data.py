"""check-data: validate the staged data files that a schema's `files` patterns govern, as the validate stage does.

Each schema's patterns are relative to the folder of the schema file. A file no schema governs is
not checked. Without file arguments the files staged in git are checked.
"""

from __future__ import annotations

import argparse
import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from lockship.core.data.schema import Schema, load_schema
from lockship.core.data.validation import format_violations, validate_file
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.git.repo import staged_files
from lockship.core.globs import glob_match

DEFAULT_SCHEMA = "schema.yaml"
DEFAULT_MAX_REPORTED = 50


@dataclass(frozen=True)
class Governed:
    """A data file and the schema that governs it."""

    path: str
    schema_path: str
    schema: Schema


def governed_files(files: Sequence[str], schemas: Sequence[tuple[str, Schema]]) -> list[Governed]:
    """Each file with every schema whose patterns match it, in argument then schema order."""
    found = []
    for path in files:
        for schema_path, schema in schemas:
            folder = posixpath.dirname(schema_path)
            relative = posixpath.relpath(path, folder) if folder else path
            if any(glob_match(relative, pattern) for pattern in schema.files):
                found.append(Governed(path, schema_path, schema))
    return found


def check_files(governed: Sequence[Governed], *, max_reported: int) -> list[str]:
    """Every problem of every file, as the validate stage prints them."""
    problems: list[str] = []
    for item in governed:
        try:
            result = validate_file(item.path, item.schema)
        except LockshipError as error:
            problems.extend(error.problems)
            continue
        label = item.path if len({g.schema_path for g in governed}) == 1 else f"{item.path} ({item.schema_path})"
        problems.extend(format_violations(label, result.violations, max_reported))
    return problems


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-check-data", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="data files to check (default: the files staged in git)")
    parser.add_argument(
        "--schema", action="append", help=f"schema file; repeat for several (default: {DEFAULT_SCHEMA})"
    )
    parser.add_argument(
        "--max-reported", type=int, default=DEFAULT_MAX_REPORTED, help="violations shown per file (%(default)s)"
    )
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.max_reported < 1:
        raise LockshipError("--max-reported: must be at least 1", exit_code=EXIT_USAGE)
    files = [posixpath.normpath(name.replace(os.sep, "/")) for name in args.files] or staged_files()
    schemas: list[tuple[str, Schema]] = []
    problems: list[str] = []
    for schema_path in args.schema or [DEFAULT_SCHEMA]:
        try:
            schemas.append((posixpath.normpath(schema_path), load_schema(schema_path)))
        except LockshipError as error:
            problems.extend(error.problems)
    if problems:
        raise LockshipError(*problems)
    problems = check_files(governed_files(files, schemas), max_reported=args.max_reported)
    if problems:
        raise LockshipError(*problems)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
