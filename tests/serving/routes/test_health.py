"""Readiness and the Prometheus metrics against the real server."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.serving.conftest import LOCK_HASH, Trained


def _samples(client: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_count_requests_latency_classes_and_name_the_lock_hash(client: httpx.Client, trained: Trained) -> None:
    before = _samples(client)
    records = trained.records(10)
    client.post("/predict", json={"records": records})
    client.post("/predict", json={"records": []})
    after = _samples(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    ok = {"endpoint": "/predict", "method": "POST", "status": "200"}
    assert delta("lockship_requests_total", **ok) == 1
    assert delta("lockship_requests_total", **{**ok, "status": "422"}) == 1
    assert delta("lockship_request_duration_seconds_count", **ok) == 1
    assert delta("lockship_request_duration_seconds_bucket", **ok, le="+Inf") == 1
    predictions = client.post("/predict", json={"records": records}).json()["predictions"]
    final = _samples(client)
    for label in (0, 1):
        key = ("lockship_predictions_total", frozenset({("class", str(label))}))
        assert final.get(key, 0.0) - after.get(key, 0.0) == predictions.count(label)
    info = [labels for (name, labels), value in final.items() if name == "lockship_model_info" and value == 1]
    assert [dict(labels)["lock_hash"] for labels in info] == [LOCK_HASH]


def test_unknown_paths_share_one_label(client: httpx.Client) -> None:
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    labels = {dict(labels).get("endpoint") for (name, labels) in _samples(client) if name == "lockship_requests_total"}
    assert "unmatched" in labels
    assert not any(label and label.startswith("/no/") for label in labels)
