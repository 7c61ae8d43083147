"""The estimators `train` can fit, their hyperparameters with types and bounds, and the preprocessing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockship.core.params import Section

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator
    from sklearn.compose import ColumnTransformer


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter: its type, default and allowed values."""

    kind: type
    default: Any
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False


@dataclass(frozen=True)
class EstimatorSpec:
    factory: Callable[..., BaseEstimator]
    hyperparameters: Mapping[str, Hyper]
    scale_numeric: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def _logistic_regression(**kwargs: Any) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**kwargs)


def _random_forest(**kwargs: Any) -> BaseEstimator:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(**kwargs)


def _gradient_boosting(**kwargs: Any) -> BaseEstimator:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(**kwargs)


_CLASS_WEIGHT = Hyper(str, None, choices=("balanced",), nullable=True)

ESTIMATORS: dict[str, EstimatorSpec] = {
    "logistic_regression": EstimatorSpec(
        _logistic_regression,
        {
            "C": Hyper(float, 1.0, exclusive_minimum=0.0),
            "max_iter": Hyper(int, 1000, minimum=1),
            "class_weight": _CLASS_WEIGHT,
        },
        scale_numeric=True,
    ),
    "random_forest": EstimatorSpec(
        _random_forest,
        {
            "n_estimators": Hyper(int, 200, minimum=1, maximum=10_000),
            "max_depth": Hyper(int, None, minimum=1, nullable=True),
            "min_samples_leaf": Hyper(int, 1, minimum=1),
            "max_features": Hyper(str, "sqrt", choices=("sqrt", "log2"), nullable=True),
            "class_weight": _CLASS_WEIGHT,
        },
        # One core per tree batch keeps the forest identical whatever the machine's core count.
        extra={"n_jobs": 1},
    ),
    "gradient_boosting": EstimatorSpec(
        _gradient_boosting,
        {
            "n_estimators": Hyper(int, 100, minimum=1, maximum=10_000),
            "learning_rate": Hyper(float, 0.1, exclusive_minimum=0.0, maximum=10.0),
            "max_depth": Hyper(int, 3, minimum=1),
            "subsample": Hyper(float, 1.0, exclusive_minimum=0.0, maximum=1.0),
        },
    ),
}


def read_hyperparameters(section: Section, spec: EstimatorSpec) -> dict[str, Any]:
    """Every hyperparameter of `spec`, from `section` where set, else its default."""
    values: dict[str, Any] = {}
    for name, hyper in spec.hyperparameters.items():
        bounds = {"minimum": hyper.minimum, "maximum": hyper.maximum, "exclusive_minimum": hyper.exclusive_minimum}
        if name not in section.values:
            values[name] = hyper.default
        elif hyper.nullable:
            values[name] = section.optional(name, hyper.kind, choices=hyper.choices, **bounds)
        else:
            values[name] = section.get(name, hyper.kind, choices=hyper.choices, **bounds)
    return values


def preprocessor(numeric: Sequence[str], categorical: Sequence[str], *, scale: bool) -> ColumnTransformer:
    """Impute missing values, scale numbers where the estimator needs it, one-hot encode strings."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric_steps: list[Any] = [SimpleImputer(strategy="median", keep_empty_features=True)]
    if scale:
        numeric_steps.append(StandardScaler())
    return ColumnTransformer(
        [
            ("numeric", make_pipeline(*numeric_steps), list(numeric)),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent", keep_empty_features=True),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                list(categorical),
            ),
        ]
    )
