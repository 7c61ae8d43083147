"""GET /metadata against the real server."""

from __future__ import annotations

import httpx

from tests.serving.conftest import LOCK_HASH, Trained, scalar_metrics


def test_metadata_names_lock_params_metrics_and_schema(client: httpx.Client, trained: Trained) -> None:
    body = client.get("/metadata").json()
    assert body["lock_hash"] == LOCK_HASH
    assert "git_revision" not in body
    assert body["params"] == {"train": {"estimator": "logistic_regression", "seed": 42}}
    assert body["metrics"] == scalar_metrics(trained.work / "metrics.json")
    assert body["metrics"]["accuracy"] > 0.9
    assert body["target"] == "target"
    assert body["classes"] == [0, 1]
    assert body["prediction_path"] == "linear fast path"
    radius = body["features"][0]
    assert radius == {"name": "mean radius", "dtype": "float64", "nullable": False, "min": 6.981, "max": 28.11,
                      "allowed": None}  # fmt: skip
    assert [feature["name"] for feature in body["features"]] == list(trained.features.columns)
