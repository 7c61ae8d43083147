"""A model directory for mixed data (numbers, strings, booleans, missing strings), built by the real stages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lockship.packaging.assemble import assemble_model_dir
from lockship.stages import evaluate, prepare, train
from tests.conftest import REPO_ROOT
from tests.serving.conftest import LOCK_HASH, scalar_metrics

FEATURES = ["floor area", "rooms", "district", "has garden", "heating"]
SCHEMA = """\
target: band
min_rows: 10
columns:
  floor area: {dtype: float64, nullable: false, min: 10.0, max: 400.0}
  rooms: {dtype: int64, nullable: false, min: 1, max: 12}
  district: {dtype: str, nullable: false, allowed: [north, south, east, west]}
  has garden: {dtype: bool, nullable: false}
  heating: {dtype: str, nullable: true}
  band: {dtype: str, nullable: false}
"""


def mixed_table(rows: int = 240) -> pd.DataFrame:
    generator = np.random.default_rng(7)
    area = generator.uniform(20, 300, rows).round(1)
    district = generator.choice(["north", "south", "east", "west"], rows)
    heating = generator.choice(np.array(["gas", "heat pump", "oil", None], dtype=object), rows)
    score = area / 100 + (district == "north") + generator.normal(0, 0.3, rows)
    return pd.DataFrame(
        {
            "floor area": area,
            "rooms": generator.integers(1, 12, rows),
            "district": district,
            "has garden": generator.random(rows) < 0.4,
            "heating": heating,
            "band": np.where(score < 1.3, "low", np.where(score < 2.6, "mid", "high")),
        }
    )


def build_mixed_model_dir(work: Path) -> Path:
    """Run prepare, train and evaluate on the mixed table in `work` and package their outputs."""
    mixed_table().to_csv(work / "houses.csv", index=False)
    params = (REPO_ROOT / "params.yaml").read_text()
    params = params.replace("source: sklearn:breast_cancer", f"source: {work / 'houses.csv'}")
    params = re.sub(r"\n +positive_class: .*", "", params)  # three classes: each gets its own figures
    (work / "params.yaml").write_text(params.replace("target: target", "target: band", 1))
    (work / "schema.yaml").write_text(SCHEMA)
    files = {
        name: str(work / name) for name in ("params.yaml", "train.csv", "test.csv", "model.skops", "metadata.json")
    }
    assert (
        prepare.main(["--params", files["params.yaml"], "--train", files["train.csv"], "--test", files["test.csv"]])
        == 0
    )
    assert train.main(["--params", files["params.yaml"], "--train", files["train.csv"], "--model", files["model.skops"],
                       "--metadata", files["metadata.json"]]) == 0  # fmt: skip
    assert evaluate.main(["--params", files["params.yaml"], "--model", files["model.skops"], "--metadata",
                          files["metadata.json"], "--train", files["train.csv"], "--test", files["test.csv"],
                          "--metrics", str(work / "metrics.json"), "--plots", str(work / "plots"),
                          "--profile", str(work / "profile.json")]) == 0  # fmt: skip
    target = work / "model-dir"
    assemble_model_dir(
        target,
        model_path=work / "model.skops",
        metadata_path=work / "metadata.json",
        schema_path=work / "schema.yaml",
        profile_path=work / "profile.json",
        lock_hash=LOCK_HASH,
        params={"train": {"estimator": "logistic_regression", "seed": 42}},
        metrics=scalar_metrics(work / "metrics.json"),
        example=example_row(work),
    )
    shutil.rmtree(work / "plots")
    return target


def example_row(work: Path) -> dict[str, Any]:
    first = mixed_features(work).iloc[0]
    return {name: _plain(first[name]) for name in FEATURES}


def mixed_features(work: Path) -> pd.DataFrame:
    """The test split's features as the server reads them (a missing string is None, not NaN)."""
    frame = pd.read_csv(work / "test.csv")[FEATURES]
    return frame.astype(object).where(frame.notna(), None)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
