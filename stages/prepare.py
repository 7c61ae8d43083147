"""prepare: load the source data, choose its feature columns, and split it into train and test sets,
stratified by the target.

Which columns become features (`prepare.columns.keep`/`drop`, `prepare.dates`): see
lockship.core.data.features.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lockship.core.data.features import FeatureRules, apply_rules, read_rules
from lockship.core.data.tabular import csv_bytes, read_table
from lockship.core.errors import LockshipError, entrypoint
from lockship.core.fsio import write_outputs
from lockship.core.params import load_section

if TYPE_CHECKING:
    import pandas as pd

BUNDLED_PREFIX = "sklearn:"
BUNDLED = ("breast_cancer", "iris", "wine")
MAX_LISTED = 10


@dataclass(frozen=True)
class PrepareParams:
    source: str
    target: str
    test_size: float
    seed: int
    features: FeatureRules = field(default_factory=FeatureRules)


def read_params(path: str) -> PrepareParams:
    section = load_section(path, "prepare")
    params = PrepareParams(
        source=section.get("source", str),
        target=section.get("target", str),
        test_size=section.get("test_size", float, exclusive_minimum=0.0, exclusive_maximum=1.0),
        seed=section.get("seed", int, minimum=0, maximum=2**32 - 1),
        features=read_rules(section),
    )
    section.check()
    return params


def load_source(source: str) -> pd.DataFrame:
    """A bundled scikit-learn dataset (`sklearn:breast_cancer`) or a CSV/Parquet file."""
    if not source.startswith(BUNDLED_PREFIX):
        return read_table(source)
    name = source.removeprefix(BUNDLED_PREFIX)
    if name not in BUNDLED:
        choices = ", ".join(BUNDLED_PREFIX + option for option in BUNDLED)
        raise LockshipError(f"{source}: unknown bundled dataset; choose {choices} or a .csv/.parquet path")
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    frame: pd.DataFrame = loader(as_frame=True).frame
    return frame


def split(
    frame: pd.DataFrame, *, source: str, target: str, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/test split; every reason the data cannot be split is one problem line."""
    if target not in frame.columns:
        listed = ", ".join(map(str, frame.columns[:MAX_LISTED])) + (", ..." if frame.shape[1] > MAX_LISTED else "")
        raise LockshipError(f"{source}: no target column '{target}' (prepare.target); columns are: {listed}")
    if frame.empty:
        raise LockshipError(f"{source}: header only, no data rows")
    labels = frame[target]
    missing = labels.index[labels.isna()]
    if len(missing):
        rows = ", ".join(str(index + 1) for index in missing[:MAX_LISTED])
        more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        raise LockshipError(f"{source}: column '{target}': missing target value in row(s) {rows}{more}")
    counts = labels.value_counts()
    if len(counts) < 2:
        raise LockshipError(
            f"{source}: column '{target}': a single class ({counts.index[0]!r}); a classifier needs two or more"
        )
    rare = counts[counts < 2]
    if len(rare):
        shown = ", ".join(repr(label) for label in sorted(rare.index[:MAX_LISTED], key=str))
        raise LockshipError(
            f"{source}: column '{target}': class(es) {shown} have a single row; stratified splitting needs two each"
        )
    test_rows = math.ceil(test_size * len(frame))
    if test_rows < len(counts) or len(frame) - test_rows < len(counts):
        raise LockshipError(
            f"{source}: {len(frame)} rows and {len(counts)} classes cannot be split with "
            f"prepare.test_size {test_size}: both sets need a row of every class"
        )
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=labels)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-prepare", description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file with a 'prepare' section")
    parser.add_argument("--train", required=True, help="where to write the training set (CSV)")
    parser.add_argument("--test", required=True, help="where to write the test set (CSV)")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    params = read_params(args.params)
    frame = apply_rules(load_source(params.source), params.features, target=params.target, where=args.params)
    train, test = split(frame, source=params.source, target=params.target, test_size=params.test_size, seed=params.seed)
    write_outputs({args.train: csv_bytes(train), args.test: csv_bytes(test)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
