"""A fitted pipeline's preprocessing and trees as a `TreeEnsemble`, for packaging (the one place with scikit-learn)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lockship.serving.trees import BOOSTING, FOREST, Prep, TreeEnsemble, from_nodes


def extract_prep(prep: Any, features: Sequence[str]) -> Prep | None:
    """A ColumnTransformer whose columns are imputed (NaN, no indicator), then scaled or not; None for any other."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if type(prep) is not ColumnTransformer:
        return None
    positions: list[int] = []
    fills, means, scales = [], [], []
    for _, transformer, columns in prep.transformers_:
        if len(columns) == 0 or (isinstance(transformer, str) and transformer == "drop"):
            continue
        steps = [step for _, step in transformer.steps] if isinstance(transformer, Pipeline) else []
        if [type(step) for step in steps] not in ([SimpleImputer], [SimpleImputer, StandardScaler]):
            return None
        imputer = steps[0]
        if imputer.add_indicator or not (
            isinstance(imputer.missing_values, float) and math.isnan(imputer.missing_values)
        ):
            return None
        if any(not isinstance(column, str) or column not in features for column in columns):
            return None
        fill = np.asarray(imputer.statistics_, dtype=np.float64)
        if len(fill) != len(columns) or not np.all(np.isfinite(fill)):
            return None  # a column the imputer drops, for having been empty in training
        count = len(columns)
        scaler = steps[1] if len(steps) == 2 else None
        positions += [list(features).index(column) for column in columns]
        fills.append(fill)
        mean = None if scaler is None else scaler.mean_
        scale = None if scaler is None else scaler.scale_
        means.append(np.zeros(count) if mean is None else np.asarray(mean, dtype=np.float64))
        scales.append(np.ones(count) if scale is None else np.asarray(scale, dtype=np.float64))
    if not positions:
        return None
    return Prep(
        positions=np.asarray(positions, dtype=np.intp),
        fill=np.concatenate(fills),
        mean=np.concatenate(means),
        scale=np.concatenate(scales),
    )


def extract_trees(model: Any, features: Sequence[str]) -> TreeEnsemble | None:
    """Pipeline(ColumnTransformer, RandomForestClassifier or GradientBoostingClassifier) as arrays; None otherwise."""
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    estimator = model.steps[1][1]
    if type(estimator) not in (RandomForestClassifier, GradientBoostingClassifier):
        return None
    prep = extract_prep(model.steps[0][1], features)
    if prep is None or getattr(estimator, "n_outputs_", 1) != 1:
        return None
    classes = [c.item() if hasattr(c, "item") else c for c in estimator.classes_]
    if type(estimator) is RandomForestClassifier:
        trees = [tree.tree_.__getstate__() for tree in estimator.estimators_]
        return from_nodes(FOREST, classes, prep, [(tree["nodes"], tree["values"]) for tree in trees])
    init = estimator.init_
    if estimator.loss != "log_loss" or type(init) is not DummyClassifier or init.strategy != "prior":
        return None
    stages = [tree.tree_.__getstate__() for tree in np.asarray(estimator.estimators_).reshape(-1)]
    return from_nodes(
        BOOSTING,
        classes,
        prep,
        [(tree["nodes"], tree["values"]) for tree in stages],
        learning_rate=estimator.learning_rate,
        outputs=estimator.estimators_.shape[1],
        prior=init.class_prior_,
    )
