"""evaluate: score the model on the test set (metrics, plots) and profile the training features for drift checks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockship.core.data.tabular import csv_bytes, read_table
from lockship.core.errors import LockshipError, entrypoint
from lockship.core.fsio import canonical_json, write_outputs
from lockship.core.numerics import fingerprint, read_numerics
from lockship.core.params import load_section

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DIGITS = 6


@dataclass(frozen=True)
class Settings:
    profile_bins: int
    positive_class: str | None  # as text: a class label read from YAML may be 1 or "1"


def read_settings(path: str) -> Settings:
    section = load_section(path, "evaluate")
    bins = section.get("profile_bins", int, minimum=2, maximum=1000)
    positive = section.optional("positive_class", object)
    if isinstance(positive, list | dict):
        section.problem("positive_class", f"expected one class label, got {positive!r}")
    section.check()
    return Settings(bins, None if positive is None else str(positive))


def positive_class(classes: Sequence[Any], named: str | None) -> Any:
    """The class whose scores the binary ROC and precision-recall curves follow; None for more than two classes.

    `named` (evaluate.positive_class) picks it by label; unset, it is the second of the model's
    sorted classes (1 of 0/1), as scikit-learn's binary metrics assume.
    """
    shown = ", ".join(str(cls) for cls in classes)
    if len(classes) != 2:
        if named is not None:
            raise LockshipError(
                f"evaluate.positive_class: {named!r} applies to two classes, the model has {len(classes)} "
                f"({shown}); remove it (every class gets its own figures and curves)"
            )
        return None
    if named is None:
        return classes[1]
    found = [cls for cls in classes if str(cls) == named]
    if not found:
        raise LockshipError(f"evaluate.positive_class: {named!r} is not one of the model's classes ({shown})")
    return found[0]


def read_metadata(path: str) -> tuple[str, list[str]]:
    """The target and feature names the model was trained with."""
    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
        return str(info["target"]), [str(feature["name"]) for feature in info["features"]]
    except FileNotFoundError as error:
        raise LockshipError(f"{path}: file not found") from error
    except (ValueError, KeyError, TypeError) as error:
        raise LockshipError(f"{path}: not a lockship model metadata file ({error})") from error


def split_features(frame: pd.DataFrame, *, label: str, features: Sequence[str], target: str) -> pd.DataFrame:
    """The model's feature columns of `frame`, in training order; missing ones are an error."""
    missing = [name for name in [*features, target] if name not in frame.columns]
    if missing:
        raise LockshipError(f"{label}: missing column(s) the model was trained with: {', '.join(missing)}")
    if frame.empty:
        raise LockshipError(f"{label}: header only, no data rows")
    return frame[list(features)]


def score(
    labels: Any, predicted: Any, probabilities: np.ndarray, classes: Sequence[Any], positive: Any
) -> dict[str, Any]:
    """Accuracy; precision, recall and F1 macro- and support-weighted-averaged; ROC AUC (the positive
    class's for two classes, the macro one-vs-rest average for more); and per class, under `classes`,
    precision, recall, F1, one-vs-rest ROC AUC and support (test rows of that class)."""
    from sklearn import metrics

    missing = [str(cls) for cls in classes if cls not in set(labels)]
    if missing:
        raise LockshipError(f"test set: ROC AUC needs every class in the test set; none of: {', '.join(missing)}")
    values: dict[str, Any] = {"accuracy": metrics.accuracy_score(labels, predicted)}
    for average in ("macro", "weighted"):
        found = metrics.precision_recall_fscore_support(
            labels, predicted, labels=list(classes), average=average, zero_division=0
        )
        values |= {f"{name}_{average}": found[i] for i, name in enumerate(("precision", "recall", "f1"))}
    if positive is None:
        values["roc_auc"] = metrics.roc_auc_score(labels, probabilities, multi_class="ovr", labels=list(classes))
    else:
        values["roc_auc"] = metrics.roc_auc_score(labels == positive, probabilities[:, list(classes).index(positive)])
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predicted, labels=list(classes), average=None, zero_division=0
    )
    per_class: dict[str, dict[str, float | int]] = {}
    for index, cls in enumerate(classes):
        truth = labels == cls
        auc = metrics.roc_auc_score(truth, probabilities[:, index]) if 0 < truth.sum() < len(truth) else None
        figures = {"precision": precision[index], "recall": recall[index], "f1": f1[index], "roc_auc": auc}
        per_class[str(cls)] = {k: round(float(v), DIGITS) for k, v in figures.items() if v is not None}
        per_class[str(cls)]["support"] = int(support[index])
    rounded: dict[str, Any] = {name: round(float(value), DIGITS) for name, value in values.items()}
    rounded["classes"] = per_class
    if positive is not None:
        rounded["positive_class"] = str(positive)
    return rounded


def curves(
    labels: Any, probabilities: np.ndarray, classes: Sequence[Any], positive: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ROC and precision-recall points one-vs-rest, each row naming its class (the `class` column the
    plot template draws one curve per value of); for two classes, the positive class's alone."""
    import pandas as pd
    from sklearn import metrics

    roc, pr = [], []
    for index, cls in enumerate(classes):
        if positive is not None and cls != positive:
            continue
        truth = labels == cls
        fpr, tpr, _ = metrics.roc_curve(truth, probabilities[:, index])
        precision, recall, _ = metrics.precision_recall_curve(truth, probabilities[:, index])
        roc.append(pd.DataFrame({"class": cls, "fpr": fpr.round(DIGITS), "tpr": tpr.round(DIGITS)}))
        pr.append(pd.DataFrame({"class": cls, "recall": recall.round(DIGITS), "precision": precision.round(DIGITS)}))
    return pd.concat(roc, ignore_index=True), pd.concat(pr, ignore_index=True)


def profile(frame: pd.DataFrame, *, features: Sequence[str], bins: int) -> dict[str, Any]:
    """Reference distribution of each feature: quantile bin edges and counts, or category counts."""
    import numpy as np

    out: dict[str, Any] = {}
    for name in features:
        column = frame[name]
        values = column.dropna()
        entry: dict[str, Any] = {"missing": int(column.isna().sum())}
        if column.dtype.kind in "biuf":
            numbers = values.to_numpy(dtype="float64")
            # Interior quantile edges; the outer bins are open so live values outside the range still land.
            quantiles = np.linspace(0, 1, bins + 1)[1:-1]
            edges = np.unique(np.quantile(numbers, quantiles)) if len(numbers) else np.array([])
            counts = np.bincount(np.searchsorted(edges, numbers, side="right"), minlength=len(edges) + 1)
            entry |= {
                "kind": "numeric",
                "edges": [float(edge) for edge in edges],
                "counts": [int(count) for count in counts],
                "mean": round(float(numbers.mean()), DIGITS) if len(numbers) else None,
                "std": round(float(numbers.std()), DIGITS) if len(numbers) else None,
                "min": float(numbers.min()) if len(numbers) else None,
                "max": float(numbers.max()) if len(numbers) else None,
            }
        else:
            counts = values.astype(str).value_counts()
            entry |= {"kind": "categorical", "counts": {str(k): int(counts[k]) for k in sorted(counts.index)}}
        out[str(name)] = entry
    return {"rows": len(frame), "bins": bins, "features": out}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-evaluate", description=__doc__)
    parser.add_argument(
        "--params", default="params.yaml", help="params file with an 'evaluate' section (profile_bins, positive_class)"
    )
    parser.add_argument("--model", required=True, help="the model file (.skops)")
    parser.add_argument("--metadata", required=True, help="the model's metadata (JSON, from train)")
    parser.add_argument("--train", required=True, help="the training set, for the reference profile")
    parser.add_argument("--test", required=True, help="the test set, for metrics and plots")
    parser.add_argument("--metrics", required=True, help="where to write the metrics (JSON)")
    parser.add_argument("--plots", required=True, help="directory for confusion.csv, roc.csv, precision_recall.csv")
    parser.add_argument("--profile", required=True, help="where to write the feature profile (JSON)")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = read_settings(args.params)
    fingerprint(read_numerics(args.params))
    target, features = read_metadata(args.metadata)
    test = read_table(args.test)
    test_features = split_features(test, label=args.test, features=features, target=target)
    train = read_table(args.train)
    split_features(train, label=args.train, features=features, target=target)

    from lockship.modelfile import load_model

    model = load_model(args.model)
    classes = list(model.classes_)
    positive = positive_class(classes, settings.positive_class)
    probabilities = model.predict_proba(test_features)
    predicted = model.predict(test_features)
    labels = test[target].to_numpy()
    roc, precision_recall = curves(labels, probabilities, classes, positive)
    import pandas as pd

    confusion = pd.DataFrame({"actual": labels, "predicted": predicted})
    plots = Path(args.plots)
    write_outputs(
        {
            args.metrics: canonical_json(score(labels, predicted, probabilities, classes, positive)),
            plots / "confusion.csv": csv_bytes(confusion),
            plots / "roc.csv": csv_bytes(roc),
            plots / "precision_recall.csv": csv_bytes(precision_recall),
            args.profile: canonical_json(profile(train, features=features, bins=settings.profile_bins)),
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
