"""Prometheus metrics: requests by endpoint and status, predictions by class, input-log drops, the model.

With several workers `lockship serve` sets PROMETHEUS_MULTIPROC_DIR before prometheus-client is
imported; every worker then writes its samples to files there and `/metrics` merges them.
"""

from __future__ import annotations

import os
from collections import Counter as Counter_
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

# Request latency buckets around the millisecond, where this server lives.
BUCKETS = (0.0005, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
DROP_REASONS = ("queue_full", "write_failed", "shutdown")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class Telemetry:
    """The app's metrics in a registry of its own (several apps may live in one test process)."""

    def __init__(self, *, lock_hash: str, model_sha256: str, model_name: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("endpoint", "method", "status")
        self.requests = Counter("lockship_requests", "HTTP requests answered.", labels, registry=self.registry)
        self.latency = Histogram(
            "lockship_request_duration_seconds",
            "Time from receiving a request to sending the last byte of its answer.",
            labels,
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "lockship_predictions", "Rows predicted, by predicted class.", ("class",), registry=self.registry
        )
        self.info = Gauge(
            "lockship_model_info",
            "The model being served (always 1), labelled with the lock hash that produced it.",
            ("lock_hash", "model_sha256", "model_name"),
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.info.labels(lock_hash, model_sha256, model_name).set(1)
        self.input_log_dropped = Counter(
            "lockship_input_log_dropped_rows",
            "Predicted rows the input log could not keep, by reason: queue_full (the writer is behind, e.g. "
            "a reader holds the lock), write_failed (e.g. a full disk), shutdown (still queued at the stop).",
            ("reason",),
            registry=self.registry,
        )
        for reason in DROP_REASONS:
            self.input_log_dropped.labels(reason)  # a zero sample from the start, so alerts see the series
        self.flagged = Counter(
            "lockship_flagged_values",
            "Values served although unlike the training data, by feature and reason: below_min or above_max "
            "(outside the schema's range, `outside: flag`), unknown_category (the model's encoder ignores it).",
            ("feature", "reason"),
            registry=self.registry,
        )

    def request_series(self, endpoint: str, method: str, status: int) -> tuple[Any, Any]:
        """The request counter and latency histogram of one (endpoint, method, status)."""
        labels = (endpoint, method, str(status))
        return self.requests.labels(*labels), self.latency.labels(*labels)

    def count_dropped(self, reason: str, rows: int) -> None:
        """Called from the input log's thread as well as from requests (prometheus-client is thread-safe)."""
        self.input_log_dropped.labels(reason).inc(rows)

    def count_flagged(self, flagged: Sequence[tuple[str, str]]) -> None:
        """Count (feature, reason) pairs, one per flagged value."""
        for (feature, reason), count in sorted(Counter_(flagged).items()):
            self.flagged.labels(feature, reason).inc(count)

    def count_classes(self, classes: Sequence[Any], counts: Sequence[int]) -> None:
        for label, count in zip(classes, counts, strict=True):
            if count:
                self.predictions.labels(str(label)).inc(int(count))

    def exposition(self) -> bytes:
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(merged)
