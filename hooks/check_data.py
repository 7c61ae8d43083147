"""check-data: validate the staged data files that a schema's `files` patterns govern, as the validate stage does.

Each schema's patterns are relative to the folder of the schema file. A file no schema governs is
not checked. Without file arguments the files staged in git are checked. Data that DVC tracks is
checked too: a staged `.dvc` file stands for its outputs, a staged dvc.lock for its out entries that
changed since HEAD, read from the work tree (an output that is not there, as in a clone without
`dvc pull`, is skipped with a note). Without the default schema file nothing is checked and a note
says how to write one, unless `--require-schema`.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from lockship.core.data.schema import Schema, load_schema
from lockship.core.data.validation import format_violations, validate_file
from lockship.core.dvc.tracked import Output, TrackedData, is_dvc_metadata, tracked_data
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.git.repo import staged_files
from lockship.core.globs import glob_match

DEFAULT_SCHEMA = "schema.yaml"
DEFAULT_MAX_REPORTED = 50
DATA_SUFFIXES = (".csv", ".parquet", ".pq")


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


def may_hold(folder: str, pattern: str) -> bool:
    """Whether a file under `folder` could match `pattern` (both relative to the same place)."""
    if "/" not in pattern.removeprefix("./") or pattern.startswith("**"):
        return True
    parts = pattern.removeprefix("./").split("/")
    for depth, name in enumerate(folder.split("/")):
        if depth >= len(parts) - 1:
            return False
        if parts[depth] == "**" or parts[depth].startswith("**"):
            return True
        if not glob_match(name, parts[depth]):
            return False
    return True


def absent_notes(absent: Sequence[Output], schemas: Sequence[tuple[str, Schema]]) -> list[str]:
    """One note per output missing from the work tree that a schema governs (or, a directory, may)."""
    notes = []
    for output in absent:
        for schema_path, schema in schemas:
            folder = posixpath.dirname(schema_path)
            relative = posixpath.relpath(output.path, folder) if folder else output.path
            if relative.startswith("../"):
                continue
            if any(glob_match(relative, p) or (output.directory and may_hold(relative, p)) for p in schema.files):
                notes.append(
                    f"{output.path}: not in the work tree, not checked ({output.source} is staged; "
                    f"`dvc pull {output.source if output.source.endswith('.dvc') else output.path}` to check it)"
                )
                break
    return notes


def no_schema_hint(data_files: Sequence[str], *, required: bool) -> str:
    """What to do about a commit with data files and no schema."""
    example = data_files[0]
    make = f"lockship schema infer {example} --target <label column> (its `files:` patterns say what it governs)"
    if required:
        return f"{DEFAULT_SCHEMA}: file not found (--require-schema); write one with: {make}"
    return f"{DEFAULT_SCHEMA}: not found, so data files such as {example} are not checked; to check them: {make}"


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
        "--require-schema",
        action="store_true",
        help=f"fail when data files are committed and there is no {DEFAULT_SCHEMA} (default: pass with a note)",
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
    staged = [posixpath.normpath(name.replace(os.sep, "/")) for name in args.files] or staged_files()
    no_schema = not args.schema and not os.path.lexists(DEFAULT_SCHEMA)
    try:
        tracked = tracked_data(".", [name for name in staged if is_dvc_metadata(name)])
    except LockshipError:
        if not no_schema or args.require_schema:
            raise
        tracked = TrackedData([], [], [])  # nothing to validate against: a broken DVC file is check-lock's to report
    files = list(dict.fromkeys([*(name for name in staged if not is_dvc_metadata(name)), *dict(tracked.files)]))
    notes = list(tracked.refused)
    schema_paths = [posixpath.normpath(path) for path in args.schema or [DEFAULT_SCHEMA]]
    if no_schema:
        data_files = [name for name in files if name.lower().endswith(DATA_SUFFIXES)]
        data_files += [o.path for o in tracked.absent if o.path.lower().endswith(DATA_SUFFIXES)]
        if data_files and args.require_schema:
            raise LockshipError(no_schema_hint(data_files, required=True))
        report_notes([*notes, *([no_schema_hint(data_files, required=False)] if data_files else [])])
        return 0
    schemas: list[tuple[str, Schema]] = []
    problems: list[str] = []
    for schema_path in schema_paths:
        try:
            schemas.append((schema_path, load_schema(schema_path)))
        except LockshipError as error:
            problems.extend(error.problems)
    if problems:
        raise LockshipError(*problems)
    report_notes([*notes, *absent_notes(tracked.absent, schemas)])
    problems = check_files(governed_files(files, schemas), max_reported=args.max_reported)
    if problems:
        raise LockshipError(*problems)
    return 0


def report_notes(notes: Sequence[str]) -> None:
    """Notes go to stderr and do not fail the hook (pre-commit shows them with `verbose: true`)."""
    sys.stderr.writelines(f"note: {note}\n" for note in notes)


if __name__ == "__main__":
    raise SystemExit(main())
