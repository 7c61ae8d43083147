"""The Containerfile and labels: non-root, healthcheck, serving on PORT, the lock and the metrics."""

from __future__ import annotations

import json

from lockship.packaging.containerfile import ImageSpec, containerfile, labels


def test_local_base_adds_the_rootfs_and_runs_as_non_root() -> None:
    text = containerfile(ImageSpec(base_image="scratch", add_rootfs=True))
    lines = text.splitlines()
    assert lines[:5] == ["FROM scratch", "ADD base.tar /", "ADD site.tar /", "ADD bytecode.tar /", "ADD app.tar /"]
    assert "USER 10001:10001" in lines
    assert "PORT=8000" in text and "PYTHONDONTWRITEBYTECODE=1" in text
    healthcheck = next(line for line in lines if line.startswith("HEALTHCHECK"))
    assert "/v2/health/ready" in healthcheck
    command = json.loads(next(line for line in lines if line.startswith("CMD ")).removeprefix("CMD "))
    assert command == ["python3", "-m", "lockship", "serve", "/opt/lockship/model", "--host", "0.0.0.0"]
    assert not any(word in text for word in ("RUN", "pip", "gcc", "apt-get"))


def test_registry_base_is_used_as_is() -> None:
    text = containerfile(ImageSpec(base_image="python:3.11-slim", add_rootfs=False, port=9000))
    assert text.startswith("FROM python:3.11-slim\nADD site.tar /\n")
    assert "PORT=9000" in text and "EXPOSE 9000" in text


def test_labels_carry_time_lock_and_each_metric_and_nothing_of_git() -> None:
    found = labels(
        lock_hash="ab" * 32,
        created="2026-01-02T03:04:05Z",
        title="demo",
        metrics={"f1": 0.5, "accuracy": 0.9},
    )
    assert found["org.opencontainers.image.created"] == "2026-01-02T03:04:05Z"
    assert found["dev.lockship.lock-hash"] == "ab" * 32
    assert found["org.opencontainers.image.version"] == "ab" * 6
    assert json.loads(found["dev.lockship.metrics"]) == {"accuracy": 0.9, "f1": 0.5}
    assert found["dev.lockship.metric.accuracy"] == "0.9"
    assert not {"org.opencontainers.image.revision", "org.opencontainers.image.source"} & set(found)
