"""`lockship drift`: compare current data (input logs, CSV, Parquet) with the reference profile, feature by feature.

Writes drift.json, drift.md and drift.html to the output directory; exits 1 when a feature passes a
threshold (`lockship.drift` in params.yaml), 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lockship.core.errors import EXIT_FAILED, EXIT_OK, entrypoint
from lockship.core.fsio import canonical_json, write_outputs
from lockship.monitoring.charts import report_html
from lockship.monitoring.compare import DriftReport, compare
from lockship.monitoring.reference import read_profile
from lockship.monitoring.reports import report_json, report_markdown, summary_line
from lockship.monitoring.sources import input_size, progress, quiet_reader
from lockship.monitoring.thresholds import read_thresholds

MAX_DAMAGE_LINES = 10


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship drift", description=__doc__)
    parser.add_argument("current", nargs="+", metavar="CURRENT", help="input-log directories, .csv or .parquet files")
    parser.add_argument(
        "--profile",
        default="reports/profile.json",
        help="the reference profile evaluate wrote, or a model directory holding it",
    )
    parser.add_argument(
        "--params", help="params file whose 'drift' section sets thresholds (default: params.yaml if present)"
    )
    parser.add_argument(
        "-o", "--output", default="reports/drift", help="directory for drift.json, drift.md, drift.html"
    )
    return parser.parse_args(argv)


def run_drift(current: Sequence[str], *, profile: str, params: str | None, output: Path) -> DriftReport:
    """Compare, write the three reports together, and return the comparison."""
    reference = read_profile(profile)
    thresholds = read_thresholds(params, features=reference.names)
    total = input_size(current)
    with progress(total, "drift") as advance:
        report = compare(reference, current, thresholds=thresholds, advance=advance)
    write_outputs(
        {
            output / "drift.json": canonical_json(report_json(report)),
            output / "drift.md": report_markdown(report),
            output / "drift.html": report_html(report),
        }
    )
    return report


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_reader()
    params = args.params if args.params is not None else ("params.yaml" if os.path.exists("params.yaml") else None)
    report = run_drift(args.current, profile=args.profile, params=params, output=Path(args.output))
    problems = report.skipped.problems
    for line in problems[:MAX_DAMAGE_LINES]:
        print(f"note: {line}", file=sys.stderr)
    if len(problems) > MAX_DAMAGE_LINES:
        print(f"note: {len(problems) - MAX_DAMAGE_LINES} more damaged stretch(es) skipped", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    for result in report.drifted:
        print(f"{result.name}: {'; '.join(result.reasons)}")
    print(f"{summary_line(report)}; report: {Path(args.output) / 'drift.html'}")
    return EXIT_FAILED if report.drifted else EXIT_OK
