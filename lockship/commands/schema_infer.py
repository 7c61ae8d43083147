"""lockship schema infer: write a starting schema from a data file."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lockship.core.data.features import apply_rules, proposed_drops, read_rules
from lockship.core.data.schema import MIN_ROWS_COUNTS, ColumnRule, Schema, schema_yaml
from lockship.core.data.tabular import read_table
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.fsio import write_outputs
from lockship.core.params import load_section

if TYPE_CHECKING:
    import pandas as pd

# A string column with at most this many distinct values gets an `allowed` list.
MAX_CATEGORIES = 20


def infer_schema(
    frame: pd.DataFrame,
    *,
    target: str | None,
    min_rows: int,
    files: Sequence[str],
    min_rows_counts: str = "all_files",
) -> Schema:
    """A schema that `frame` passes: observed dtypes, nulls, ranges and (for the target and small
    categorical columns) allowed values."""
    import pandas as pd

    if target is not None and target not in frame.columns:
        raise LockshipError(f"--target: no column '{target}' in the data", exit_code=EXIT_USAGE)
    rules = []
    for name in frame.columns:
        column = frame[name]
        values = column.dropna()
        if pd.api.types.is_bool_dtype(column.dtype):
            dtype = "bool"
        elif pd.api.types.is_integer_dtype(column.dtype):
            dtype = "int64"
        elif pd.api.types.is_float_dtype(column.dtype):
            dtype = "float64"
        else:
            dtype = "str"
        categorical = name == target or (dtype == "str" and values.nunique() <= MAX_CATEGORIES)
        numeric = dtype in ("int64", "float64") and not values.empty and not categorical
        rules.append(
            ColumnRule(
                name=str(name),
                dtype=dtype,
                nullable=bool(column.isna().any()),
                minimum=values.min().item() if numeric else None,
                maximum=values.max().item() if numeric else None,
                allowed=tuple(sorted(_plain(v) for v in values.unique())) if categorical else None,
                # Observed ranges and categories are not laws: next year's data must still be served.
                outside="reject" if name == target else "flag",
            )
        )
    return Schema(
        columns=tuple(rules), min_rows=min_rows, target=target, files=tuple(files), min_rows_counts=min_rows_counts
    )


def _plain(value: object) -> int | float | bool | str:
    plain = value.item() if hasattr(value, "item") else value
    return plain if isinstance(plain, int | float | bool | str) else str(plain)


def prepared_columns(frame: pd.DataFrame, params: str, *, target: str | None) -> pd.DataFrame:
    """`frame` after the prepare stage's column rules in `params` (lockship.core.data.features)."""
    section = load_section(params, "prepare")
    rules = read_rules(section)
    if section.problems:
        raise LockshipError(*section.problems)
    return apply_rules(frame, rules, target=target or "", where=params)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship schema infer", description=__doc__)
    parser.add_argument("data", help="a CSV or Parquet file")
    parser.add_argument("-o", "--output", default="schema.yaml", help="schema file to write (default: %(default)s)")
    parser.add_argument("--target", help="the label column; its observed classes become the allowed values")
    parser.add_argument("--min-rows", type=int, default=1, help="fewest data rows (see --min-rows-counts)")
    parser.add_argument(
        "--min-rows-counts",
        choices=MIN_ROWS_COUNTS,
        default="all_files",
        help="count the rows of all files checked together (the train and test splits: the whole table; default) "
        "or of each file on its own",
    )
    parser.add_argument(
        "--params",
        help="a params file whose prepare.columns and prepare.dates to apply first, so the schema describes "
        "the prepared data the validate stage checks",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing schema file")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.path.exists(args.output) and not args.force:
        raise LockshipError(f"{args.output}: already exists; pass --force to overwrite it", exit_code=EXIT_USAGE)
    if args.min_rows < 0:
        raise LockshipError("--min-rows: must be 0 or more", exit_code=EXIT_USAGE)
    frame = read_table(args.data)
    if args.params:
        frame = prepared_columns(frame, args.params, target=args.target)
    schema = infer_schema(
        frame, target=args.target, min_rows=args.min_rows, files=[args.data], min_rows_counts=args.min_rows_counts
    )
    write_outputs({args.output: schema_yaml(schema)})
    print(f"{args.output}: wrote a schema of {len(schema.columns)} columns inferred from {args.data}")
    for name, reason in sorted(proposed_drops(frame, target=args.target).items()):
        print(f"{args.data}: column '{name}': {reason}; consider dropping it (prepare.columns.drop, then --params)")
    return 0
