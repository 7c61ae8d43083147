"""A reader holding the input log's shared lock against the real server: memory stays bounded, the
inputs it cannot keep are counted in /metrics, and shutdown does not wait for the reader."""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from lockship.serving.logformat import LOCK_NAME, LOG_NAME
from tests.serving.conftest import Trained, start_server

QUEUE_BYTES = 8 * 1024 * 1024
ROWS = 5000


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    (line,) = (line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _dropped(client: httpx.Client) -> dict[str, float]:
    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
        if sample.name == "lockship_input_log_dropped_rows_total"
    }


def test_a_reader_holding_the_lock_bounds_memory_and_shutdown(trained: Trained, tmp_path: Path) -> None:
    # Issue 8: RSS went from 67 MB to 603 MB over 30 s of 5,000-row batches, then SIGTERM hung in flock.
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    records = trained.records()
    body = json.dumps({"records": (records * (ROWS // len(records) + 1))[:ROWS]}).encode()
    with (log_dir / LOCK_NAME).open("a") as reader:
        fcntl.flock(reader, fcntl.LOCK_SH)  # held for the whole test, as a slow drift job would
        server = start_server(trained.model_dir, log_dir, "--workers", "1",
                              "--input-log-queue-bytes", str(QUEUE_BYTES))  # fmt: skip
        assert server.process.poll() is None, server.output()
        try:
            with httpx.Client(base_url=server.url, timeout=30, headers={"content-type": "application/json"}) as client:
                for _ in range(10):  # the queue fills, and the allocator settles
                    assert client.post("/predict", content=body).status_code == 200
                settled = _rss_mib(server.process.pid)
                deadline = time.monotonic() + 4
                sent = 10
                while time.monotonic() < deadline:
                    assert client.post("/predict", content=body).status_code == 200
                    sent += 1
                grown = _rss_mib(server.process.pid) - settled
                dropped = _dropped(client)
            assert sent > 20  # each batch is 1.2 MB of matrix: unbounded, the queue would hold sent * 1.2 MB
            assert grown < 32, f"RSS grew {grown:.0f} MiB over {sent} batches"
            assert dropped["queue_full"] >= (sent - 10) * ROWS * 0.9
            started = time.monotonic()
            assert server.stop() == 0
            assert time.monotonic() - started < 10  # the close gives up on the lock after 2 s
        finally:
            server.stop()  # a no-op once stopped above
    output = server.output()
    assert "stayed locked; dropped the inputs still waiting" in output
    assert "Traceback" not in output
    assert not (log_dir / LOG_NAME).exists()
