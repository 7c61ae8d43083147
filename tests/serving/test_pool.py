"""Slow predictions run in the worker pool: readiness and /metrics keep answering while they do."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.serving.conftest import Trained, pipeline_model_dir, quantile_forest, start_server

SLOW_REQUESTS = 6


def _post(url: str, body: dict[str, object]) -> tuple[int, float]:
    start = time.perf_counter()
    status = httpx.post(f"{url}/predict", json=body, timeout=120).status_code
    return status, time.perf_counter() - start


def test_readiness_and_metrics_answer_while_a_slow_model_predicts(trained: Trained, tmp_path: Path) -> None:
    """A big forest on the pipeline path: each 1,000-row batch takes a large fraction of a second.

    Had the predictions run on the event loop, a probe arriving during one would wait for it (and for
    every batch queued before it), so the slowest probe would take about as long as a batch.
    """
    model_dir = pipeline_model_dir(trained, tmp_path / "model-dir", quantile_forest(trained, 600))
    server = start_server(model_dir, tmp_path / "input-log", "--workers", "1")
    try:
        assert server.process.poll() is None, server.output()
        body = {"records": (trained.records() * 10)[:1000]}
        probes: list[float] = []
        with ThreadPoolExecutor(SLOW_REQUESTS) as pool, httpx.Client(base_url=server.url, timeout=120) as client:
            slow = [pool.submit(_post, server.url, body) for _ in range(SLOW_REQUESTS)]
            time.sleep(0.05)  # let the batches arrive first
            while not all(future.done() for future in slow):
                for path in ("/v2/health/ready", "/metrics"):
                    start = time.perf_counter()
                    assert client.get(path).status_code == 200
                    probes.append(time.perf_counter() - start)
            answers = [future.result() for future in slow]
        assert [status for status, _ in answers] == [200] * SLOW_REQUESTS
        fastest_batch = min(seconds for _, seconds in answers)
        assert len(probes) >= 10, f"only {len(probes)} probes answered while {SLOW_REQUESTS} batches ran"
        assert max(probes) < fastest_batch / 2, (
            f"slowest probe {max(probes):.3f} s, fastest batch {fastest_batch:.3f} s"
        )
    finally:
        server.stop()
