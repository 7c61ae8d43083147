"""train: fit the estimator named in params on the training set; save it with skops plus its metadata."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockship.core.data.tabular import read_table
from lockship.core.errors import LockshipError, entrypoint
from lockship.core.fsio import canonical_json, file_digest, write_outputs
from lockship.core.numerics import Numerics, fingerprint, read_numerics
from lockship.core.params import load_section
from lockship.stages.estimators import ESTIMATORS, EstimatorSpec, preprocessor, read_hyperparameters

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

# Trees are added in batches of this size so a progress bar can move between them.
TREE_BATCH = 25


@dataclass(frozen=True)
class TrainParams:
    target: str
    estimator: str
    seed: int
    hyperparameters: dict[str, Any]
    numerics: Numerics


def read_params(path: str) -> TrainParams:
    prepare = load_section(path, "prepare")
    target = prepare.get("target", str)
    if prepare.problems:
        raise LockshipError(*prepare.problems)
    section = load_section(path, "train")
    estimator = section.get("estimator", str, choices=sorted(ESTIMATORS))
    seed = section.get("seed", int, minimum=0, maximum=2**32 - 1)
    # Every estimator's settings are checked, chosen or not, so a typo cannot wait for the day it is chosen.
    settings = {
        name: read_hyperparameters(section.section(name), spec)
        for name, spec in ESTIMATORS.items()
        if name in section.values
    }
    section.check()
    defaults = {name: hyper.default for name, hyper in ESTIMATORS[estimator].hyperparameters.items()}
    return TrainParams(
        target=target,
        estimator=estimator,
        seed=seed,
        hyperparameters=settings.get(estimator, defaults),
        numerics=read_numerics(path),
    )


def fit(frame: pd.DataFrame, *, target: str, estimator: str, seed: int, hyperparameters: dict[str, Any]) -> Pipeline:
    """Fit preprocessing and estimator on `frame`; the same inputs always give the same model."""
    from sklearn.pipeline import Pipeline

    if target not in frame.columns:
        raise LockshipError(f"training data: no target column '{target}' (prepare.target)")
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise LockshipError("training data: no feature columns besides the target")
    spec = ESTIMATORS[estimator]
    numeric = [str(c) for c in features.columns if features[c].dtype.kind in "biuf"]
    categorical = [str(c) for c in features.columns if str(c) not in numeric]
    prep = preprocessor(numeric, categorical, scale=spec.scale_numeric)
    matrix = prep.fit_transform(features)
    model = spec.factory(**hyperparameters, random_state=seed, **spec.extra)
    _fit_with_progress(model, spec, matrix, frame[target], name=estimator)
    return Pipeline([("preprocess", prep), ("model", model)])


def _fit_with_progress(model: Any, spec: EstimatorSpec, matrix: Any, labels: Any, *, name: str) -> None:
    from lockship.core.progress import progress_bar

    rounds = int(model.get_params().get("n_estimators", 1))
    with progress_bar(rounds, f"train {name}", unit="round") as bar:
        if name == "random_forest":
            # Growing a seeded forest in batches gives exactly the trees of a single fit.
            model.set_params(warm_start=True)
            for size in range(min(TREE_BATCH, rounds), rounds + TREE_BATCH, TREE_BATCH):
                model.set_params(n_estimators=min(size, rounds)).fit(matrix, labels)
                bar.update(min(size, rounds) - bar.n)
            model.set_params(warm_start=False)
        elif name == "gradient_boosting":
            model.fit(matrix, labels, monitor=lambda *_: bool(bar.update(1)))
        else:
            model.fit(matrix, labels)
            bar.update(rounds)


def model_metadata(
    frame: pd.DataFrame,
    params: TrainParams,
    *,
    train_path: str,
    model_sha256: str,
    classes: Sequence[Any],
    environment: dict[str, Any],
    ignores_unknown: Collection[str] = (),
) -> dict[str, Any]:
    """What the model was made from: data digest, params, features, the pinned numerics. No clock, no host.

    A feature in `ignores_unknown` is marked `"unknown": "ignore"`: its encoder ignores categories it never saw.
    """
    features = frame.drop(columns=[params.target])
    return {
        "estimator": params.estimator,
        "hyperparameters": params.hyperparameters,
        "seed": params.seed,
        "target": params.target,
        "classes": [c.item() if hasattr(c, "item") else c for c in classes],
        "features": [
            {"name": str(name), "dtype": str(dtype)} | ({"unknown": "ignore"} if str(name) in ignores_unknown else {})
            for name, dtype in features.dtypes.items()
        ],
        "data": {"train": {"path": train_path, "md5": file_digest(train_path), "rows": len(frame)}},
        "model": {"sha256": model_sha256},
        "environment": environment,
    }


def ignored_unknowns(pipeline: Pipeline) -> set[str]:
    """The features whose fitted encoder ignores unseen categories (one-hot with handle_unknown='ignore')."""
    ignored: set[str] = set()
    for _, transformer, columns in pipeline.named_steps["preprocess"].transformers_:
        steps = getattr(transformer, "steps", [])
        if any(getattr(step, "handle_unknown", None) in ("ignore", "infrequent_if_exist") for _, step in steps):
            ignored.update(str(column) for column in columns)
    return ignored


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-train", description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file with 'prepare' and 'train' sections")
    parser.add_argument("--train", required=True, help="the training set (CSV or Parquet)")
    parser.add_argument("--model", required=True, help="where to write the model (.skops)")
    parser.add_argument("--metadata", required=True, help="where to write the model's metadata (JSON)")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    params = read_params(args.params)
    # Checked before the fit, so that a machine that cannot honour the pins spends no time on it.
    environment = fingerprint(params.numerics)
    frame = read_table(args.train)
    if frame.empty:
        raise LockshipError(f"{args.train}: header only, no data rows")
    pipeline = fit(
        frame,
        target=params.target,
        estimator=params.estimator,
        seed=params.seed,
        hyperparameters=params.hyperparameters,
    )
    from lockship.modelfile import model_bytes

    model = model_bytes(pipeline)
    info = model_metadata(
        frame,
        params,
        train_path=args.train,
        model_sha256=hashlib.sha256(model).hexdigest(),
        classes=pipeline.classes_,
        environment=environment,
        ignores_unknown=ignored_unknowns(pipeline),
    )
    write_outputs({args.model: model, args.metadata: canonical_json(info)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
