"""Metrics: the registry, and the middleware's counting of answers given before routing (413)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from lockship.serving.telemetry import Telemetry


def _values(exposition: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition.decode())
        for sample in family.samples
    }


def test_registry_counts_classes_and_labels_the_model() -> None:
    telemetry = Telemetry(lock_hash="ab" * 32, model_sha256="cd" * 32, model_name="m")
    telemetry.count_classes(["yes", "no"], [3, 0])
    telemetry.count_classes(["yes", "no"], [1, 2])
    values = _values(telemetry.exposition())
    assert values[("lockship_predictions_total", frozenset({("class", "yes")}))] == 4
    assert values[("lockship_predictions_total", frozenset({("class", "no")}))] == 2
    info = {"lock_hash": "ab" * 32, "model_sha256": "cd" * 32, "model_name": "m"}
    assert values[("lockship_model_info", frozenset(info.items()))] == 1


def test_two_apps_in_one_process_keep_separate_registries() -> None:
    first = Telemetry(lock_hash="aa", model_sha256="s", model_name="m")
    second = Telemetry(lock_hash="bb", model_sha256="s", model_name="m")
    first.count_classes([0], [5])
    assert ("lockship_predictions_total", frozenset({("class", "0")})) not in _values(second.exposition())


def test_a_413_before_routing_is_counted_under_its_route(client: httpx.Client) -> None:
    answer = client.post(
        "/predict", content=b" " * (8 * 1024 * 1024 + 10), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    labels = {"endpoint": "/predict", "method": "POST", "status": "413"}
    assert _values(client.get("/metrics").content)[("lockship_requests_total", frozenset(labels.items()))] >= 1
