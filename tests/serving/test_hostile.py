"""Hostile requests against the real server: no 5xx from any body, cross-site bodies refused, and a
client that leaves or stalls mid-body costs neither a 500 nor memory without bound."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serving.conftest import Server, Trained, start_server

INFER = "/v2/models/model/infer"
ROW = b"@ROW@"  # a valid row of the model's 30 features, filled in by the test
MIB = 1024 * 1024


def _tensor(*, name: bytes = b'"x"', data: bytes = b"[" + ROW + b"]", shape: bytes = b"[1, 30]") -> bytes:
    return b'{"name": %s, "shape": %s, "datatype": "FP64", "data": %s}' % (name, shape, data)


def _deep(depth: int, leaf: bytes = b"1") -> bytes:
    return b"[" * depth + leaf + b"]" * depth


# (path, body, expected status): what issue 8 found answered 500 or broke the connection, and its kin.
HOSTILE = [
    pytest.param(INFER, b'{"inputs": [%s]}' % _tensor(data=_deep(1000)), 422, id="tensor-data-1000-deep"),
    pytest.param(INFER, b'{"inputs": [%s]}' % _tensor(data=_deep(1000, ROW)), 422, id="tensor-row-1000-deep"),
    pytest.param(INFER, b'{"inputs": [%s]}' % _tensor(data=_deep(5000)), 400, id="tensor-data-5000-deep"),
    pytest.param(INFER, b'{"inputs": [%s, {}]}' % _tensor(name=_deep(1000)), 422, id="tensor-name-1000-deep"),
    pytest.param(INFER, b'{"inputs": [%s]}' % _tensor(shape=_deep(1000)), 422, id="tensor-shape-1000-deep"),
    pytest.param(
        INFER, b'{"inputs": [%s]}' % _tensor(name=b'"\\ud800"', shape=b"[1]"), 422, id="tensor-name-surrogate"
    ),
    pytest.param(INFER, b'{"id": "\\ud800", "inputs": [%s]}' % _tensor(data=b"[" + ROW + b"]"), 400, id="id-surrogate"),
    pytest.param(INFER, b'{"\\ud800": 1, "inputs": [%s]}' % _tensor(), 400, id="infer-key-surrogate"),
    pytest.param(
        INFER, b'{"inputs": [{"name": "x", "datatype": {}, "shape": [1, 30], "data": []}]}', 422, id="datatype-object"
    ),
    pytest.param(INFER, b'{"inputs": [%s], "parameters": [null, null]}' % _tensor(), 422, id="parameters-list"),
    pytest.param(INFER, b'{"inputs": [%s], "id": null}' % _tensor(), 422, id="id-null"),
    pytest.param(INFER, b'{"inputs": [{"\xff\xfe": 1}]}', 400, id="infer-key-raw-ff-fe"),
    pytest.param("/predict", b'{"records": [{"\\ud800": 1}]}', 422, id="field-surrogate"),
    pytest.param("/predict", b'{"records": [{"\xff\xfe": 1}]}', 400, id="field-raw-ff-fe"),
    pytest.param("/predict", b'{"records": [{"\xff\xfe": 1.0, "mean radius": 1e999}]}', 400, id="raw-bytes-and-1e999"),
    pytest.param("/predict", b'{"records": [{"mean radius": "\\udfff"}]}', 422, id="value-surrogate"),
    pytest.param("/predict", b'{"records": %s}' % _deep(1000, b"{}"), 422, id="records-1000-deep"),
    pytest.param("/predict", b'{"records": %s}' % _deep(100_000), 400, id="records-100000-deep"),
    pytest.param("/predict", b"\xff\xfe{\x00}\x00", 400, id="utf-16-bom"),
]


@pytest.mark.parametrize(("path", "body", "status"), HOSTILE)
def test_a_hostile_body_is_a_4xx_naming_the_problem(
    client: httpx.Client, trained: Trained, path: str, body: bytes, status: int
) -> None:
    row = ",".join(repr(float(value)) for value in trained.features.iloc[0]).encode()
    answer = client.post(path, content=body.replace(ROW, row), headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]  # valid UTF-8 JSON, whatever the body held
    assert client.get("/v2/health/live").status_code == 200


def test_a_surrogate_field_name_is_echoed_escaped(client: httpx.Client, trained: Trained) -> None:
    record = json.dumps(trained.records(1)[0]).encode()
    body = b'{"records": [%s]}' % record.replace(b"{", b'{"\\ud800": 1, ', 1)
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert [problem["field"] for problem in answer.json()["detail"]] == ["\\ud800"]


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"},
     {"content-type": "multipart/form-data; boundary=x"}, {}],
    ids=["text-plain", "form", "multipart", "none"],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/predict", INFER])
def test_only_json_bodies_are_read(client: httpx.Client, trained: Trained, path: str, headers: dict[str, str]) -> None:
    # What a web page can make a browser send to a local server without a CORS preflight.
    body = json.dumps({"records": trained.records(1)}).encode()
    answer = client.post(path, content=body, headers=headers)
    assert answer.status_code == 415
    assert "Content-Type: application/json" in answer.json()["error"]


def test_json_with_a_charset_parameter_is_read(client: httpx.Client, trained: Trained) -> None:
    body = json.dumps({"records": trained.records(1)}).encode()
    answer = client.post("/predict", content=body, headers={"content-type": "Application/JSON; charset=utf-8"})
    assert answer.status_code == 200, answer.text


def _requests(client: httpx.Client) -> dict[tuple[str, str], float]:
    return {
        (sample.labels["endpoint"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
        if sample.name == "lockship_requests_total"
    }


def _head(port: int, length: int, path: str = "/predict") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n".encode()
    )


def test_a_client_leaving_mid_body_is_counted_as_499_not_500(client: httpx.Client, server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    before = _requests(client)
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(_head(port, 1000) + b'{"records": [')
            time.sleep(0.2)
    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline
        and _requests(client).get(("/predict", "499"), 0) < before.get(("/predict", "499"), 0) + 3
    ):
        time.sleep(0.1)
    after = _requests(client)
    assert after.get(("/predict", "499"), 0) == before.get(("/predict", "499"), 0) + 3
    assert after.get(("/predict", "500"), 0) == before.get(("/predict", "500"), 0) == 0


def _answer(connection: socket.socket) -> bytes:
    """The status line and headers of the answer, lowercased (b"" when the server closed without one)."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(4096)
        if not chunk:
            break
        head += chunk
    return head.lower()


def _send(connection: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server answered and closed: what matters is its answer
        connection.sendall(data)


@pytest.fixture
def limited(trained: Trained, tmp_path: Path) -> Iterator[Server]:
    server = start_server(trained.model_dir, tmp_path / "log", "--workers", "1", "--body-timeout", "2",
                          "--max-inflight-bytes", str(MIB * 7 // 2))  # fmt: skip
    assert server.process.poll() is None, server.output()
    yield server
    server.stop()


def test_stalled_bodies_are_bounded_in_bytes_and_time(limited: Server) -> None:
    # Issue 8: 40 connections each sending 8 MiB minus one byte and stopping held 312 MB until they left.
    port = int(limited.url.rsplit(":", 1)[1])
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
    try:
        started = time.monotonic()
        for connection in connections:
            connection.settimeout(10)
            _send(connection, _head(port, MIB) + b" " * (MIB - 1))
        heads = [_answer(connection) for connection in connections]
        waited = time.monotonic() - started
    finally:
        for connection in connections:
            connection.close()
    # 3.5 MiB in flight holds three of the 1 MiB bodies; the others are refused as they pass it.
    statuses = sorted(int(head.split(b" ", 2)[1]) for head in heads)
    assert statuses == [408] * 3 + [503] * 9, heads
    assert all(b"connection: close" in head for head in heads)
    assert all(b"retry-after: 1" in head for head in heads if head.startswith(b"http/1.1 503"))
    assert waited < 2 + 5  # the body timeout, plus slack for a loaded machine
    with httpx.Client(base_url=limited.url, timeout=10) as client:
        assert client.get("/v2/health/ready").status_code == 200
        counts = _requests(client)
        assert counts[("/predict", "408")] == 3 and counts[("/predict", "503")] == 9
    assert "Traceback" not in limited.output()


def test_a_trickling_body_gets_408_when_its_time_is_up(limited: Server) -> None:
    port = int(limited.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as connection:
        started = time.monotonic()
        _send(connection, _head(port, 100))
        connection.setblocking(False)
        head = b""
        while not head and time.monotonic() - started < 10:
            _send(connection, b" ")  # one byte every 0.1 s: each read is quick, the whole body is not
            time.sleep(0.1)
            with contextlib.suppress(BlockingIOError):
                head = connection.recv(4096).lower()
        elapsed = time.monotonic() - started
    assert head.startswith(b"http/1.1 408"), head
    assert 1.9 < elapsed < 2 + 5
