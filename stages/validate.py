"""validate: check data files against the schema; fail listing every violation, else write a report."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from lockship.core.data.schema import Schema, load_schema
from lockship.core.data.validation import format_violations, total_rows_problem, validate_file
from lockship.core.errors import LockshipError, entrypoint
from lockship.core.fsio import canonical_json, write_outputs
from lockship.core.params import load_section


@dataclass(frozen=True)
class FileReport:
    path: str
    rows: int
    columns: int


def read_max_reported(path: str) -> int:
    section = load_section(path, "validate")
    max_reported = section.get("max_reported", int, minimum=1)
    section.check()
    return max_reported


def validate_files(paths: Sequence[str], schema: Schema, *, max_reported: int) -> list[FileReport]:
    """Validate every file; raise one LockshipError with the violations of all of them."""
    reports: list[FileReport] = []
    problems: list[str] = []
    for path in paths:
        try:
            checked = validate_file(path, schema)
        except LockshipError as error:
            problems.extend(error.problems)
            continue
        problems.extend(format_violations(path, checked.violations, max_reported))
        reports.append(FileReport(path=path, rows=checked.rows, columns=checked.columns))
    total = total_rows_problem(sum(report.rows for report in reports), len(paths), schema)
    if total is not None and len(reports) == len(paths):
        problems.append(f"{', '.join(paths)}: {total}")
    if problems:
        raise LockshipError(*problems)
    return reports


def report_json(reports: Sequence[FileReport], *, schema_path: str) -> str:
    return canonical_json(
        {
            "schema": schema_path,
            "valid": True,
            "files": [{"path": r.path, "rows": r.rows, "columns": r.columns} for r in reports],
        }
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-validate", description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file with a 'validate' section")
    parser.add_argument("--schema", required=True, help="the schema file the data must match")
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    parser.add_argument("data", nargs="+", help="CSV or Parquet files to validate")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    max_reported = read_max_reported(args.params)
    schema = load_schema(args.schema)
    reports = validate_files(args.data, schema, max_reported=max_reported)
    write_outputs({args.report: report_json(reports, schema_path=args.schema)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
