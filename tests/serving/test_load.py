"""A bounded load test against two worker processes: no failed request, every input logged once, metrics merged."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from lockship.serving.inputlog import log_files, read_input_log
from tests.serving.conftest import Server, Trained, start_server

REQUESTS = 20_000
CONCURRENCY = 32


async def _connection(port: int, request: bytes, count: int, statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            statuses[status] += 1
    finally:
        writer.close()


async def _load(port: int, body: bytes) -> Counter[int]:
    request = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    statuses: Counter[int] = Counter()
    share = REQUESTS // CONCURRENCY
    await asyncio.gather(*(_connection(port, request, share, statuses) for _ in range(CONCURRENCY)))
    return statuses


@pytest.fixture
def two_workers(trained: Trained, tmp_path: Path) -> Server:
    server = start_server(trained.model_dir, tmp_path / "log", "--workers", "2", "--input-log-max-bytes", "100000000")
    assert server.process.poll() is None, server.output()
    return server


def test_bounded_load_has_no_failed_request(two_workers: Server, trained: Trained) -> None:
    try:
        body = json.dumps({"records": trained.records(1)}).encode()
        port = int(two_workers.url.rsplit(":", 1)[1])
        statuses = asyncio.run(_load(port, body))
        assert statuses == Counter({200: REQUESTS // CONCURRENCY * CONCURRENCY})
        metrics = httpx.get(f"{two_workers.url}/metrics").text
        total = REQUESTS // CONCURRENCY * CONCURRENCY
        assert f'lockship_requests_total{{endpoint="/predict",method="POST",status="200"}} {float(total)}' in metrics
        assert metrics.count("lockship_model_info{") == 1
    finally:
        two_workers.stop()
    batches = [batch for path in log_files(two_workers.log_dir) for batch in read_input_log(path)]
    rows = np.concatenate([batch.rows for batch in batches])
    assert rows.shape == (total, len(trained.features.columns))
    assert (rows == list(trained.records(1)[0].values())).all()  # every request logged once


def test_input_log_flushes_while_serving(server: Server, trained: Trained) -> None:
    records = trained.records(3)
    httpx.post(f"{server.url}/predict", json={"records": records})
    expected = [list(record.values()) for record in records]

    def logged() -> list[list[float]]:
        # A flush caught half-way through its write is skipped as damage; the next look sees all of it.
        return [
            row
            for path in log_files(server.log_dir)
            for batch in read_input_log(path)
            for row in np.asarray(batch.rows).tolist()
        ]

    def flushed() -> bool:
        # The shared server logs other tests' requests too, these rows among them: look for the batch whole.
        rows = logged()
        return any(rows[start : start + 3] == expected for start in range(len(rows) - 2))

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not flushed():
        time.sleep(0.1)
    assert flushed()
    assert next(read_input_log(log_files(server.log_dir)[0])).features == tuple(trained.features.columns)
