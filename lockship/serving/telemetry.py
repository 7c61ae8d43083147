"""Prometheus metrics and the ASGI middleware that times every request and caps body sizes.

With several workers `lockship serve` sets PROMETHEUS_MULTIPROC_DIR before prometheus-client is
imported; every worker then writes its samples to files there and `/metrics` merges them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Request latency buckets around the millisecond, where this server lives.
BUCKETS = (0.0005, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
UNMATCHED = "unmatched"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class Telemetry:
    """The app's metrics in a registry of its own (several apps may live in one test process)."""

    def __init__(self, *, lock_hash: str, git_revision: str, model_sha256: str, model_name: str) -> None:
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
            ("lock_hash", "git_revision", "model_sha256", "model_name"),
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.info.labels(lock_hash, git_revision, model_sha256, model_name).set(1)

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


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than the configured limit of {limit} bytes")


class Observe:
    """Counts and times every HTTP request by route, method and status; answers 413 above the body limit."""

    def __init__(self, app: ASGIApp, *, telemetry: Telemetry, max_body_bytes: int) -> None:
        self.app = app
        self.telemetry = telemetry
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        limit = self.limit

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # A declared length over the limit is refused at the first read, before any byte is buffered;
        # raising inside the route (not before routing) keeps the answer counted under its endpoint.
        declared = _declared_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, observed_send)
        finally:
            endpoint = getattr(scope.get("route"), "path", UNMATCHED)
            labels = (endpoint, scope["method"], str(status))
            self.telemetry.requests.labels(*labels).inc()
            self.telemetry.latency.labels(*labels).observe(time.perf_counter() - start)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
