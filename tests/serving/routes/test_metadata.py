"""GET /metadata against the real server."""

from __future__ import annotations

import json

import httpx

from tests.serving.conftest import LOCK_HASH, Trained


def test_metadata_names_lock_params_metrics_and_schema(client: httpx.Client, trained: Trained) -> None:
    body = client.get("/metadata").json()
    assert body["lock_hash"] == LOCK_HASH
    assert "git_revision" not in body
    assert body["params"] == {"train": {"estimator": "logistic_regression", "seed": 42}}
    metrics = json.loads((trained.work / "metrics.json").read_text())
    assert body["metrics"] == {name: value for name, value in metrics.items() if type(value) in (int, float)}
    assert body["target"] == "target"
    assert body["classes"] == [0, 1]
    assert body["prediction_path"] == "linear fast path"
    radius = body["features"][0]
    assert radius == {"name": "mean radius", "dtype": "float64", "nullable": False, "min": 6.981, "max": 28.11,
                      "allowed": None}  # fmt: skip
    assert [feature["name"] for feature in body["features"]] == list(trained.features.columns)
