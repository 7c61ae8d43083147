"""lockship serve: refuses tampered models, picks host, port and workers, and serves on one or more workers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lockship.commands import serve
from lockship.packaging.containerfile import ImageSpec, containerfile
from tests.conftest import run
from tests.serving import conftest as serving
from tests.serving.conftest import Trained, start_server

# The session fixture that runs the real stages and packages a model directory, shared with tests/serving.
trained = serving.trained


def test_a_tampered_model_refuses_to_start(trained: Trained, tmp_path: Path) -> None:
    copy = shutil.copytree(trained.model_dir, tmp_path / "model-dir")
    model = copy / "model.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    server = start_server(copy, tmp_path / "log", "--workers", "1")
    assert server.stop() == 1
    output = server.output()
    assert f"{model}: sha256 " in output
    assert "the model file was changed or swapped after packaging" in output
    assert "lockship serve: refusing to start" in output
    assert "Traceback" not in output


def test_a_swapped_model_refuses_to_start_in_process(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = shutil.copytree(trained.model_dir, tmp_path / "model-dir")
    (copy / "model.skops").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: another file entirely
    assert serve.main([str(copy), "--input-log", str(tmp_path / "log")]) == 1
    assert "does not match" in capsys.readouterr().err


def test_a_missing_model_directory_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert serve.main([str(tmp_path / "nothing")]) == 1
    assert f"{tmp_path / 'nothing'}: no such model directory" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--port", "0"], ["--workers", "0"], ["--max-body-bytes", "0"]])
def test_out_of_range_flags_are_usage_errors(
    flags: list[str], trained: Trained, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve.main([str(trained.model_dir), *flags]) == 2
    assert f"{flags[0]}: out of range" in capsys.readouterr().err


def test_port_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert serve.default_port({}) == 8000
    assert serve.default_port({"PORT": "9123"}) == 9123
    with pytest.raises(serve.LockshipError, match="PORT: expected a port number"):
        serve.default_port({"PORT": "eighty"})


def test_host_is_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 8: a docker dev container (/.dockerenv) made the server bind 0.0.0.0 outside any deployed image.
    assert serve.default_host({}) == "127.0.0.1"
    assert serve.default_host({"container": "podman"}) == "127.0.0.1"
    assert serve.default_host({"LOCKSHIP_HOST": "0.0.0.0"}) == "0.0.0.0"
    monkeypatch.setenv("container", "docker")
    assert serve.parse_args(["model"], {"container": "docker"}).host is None
    # The image says so itself.
    command = containerfile(ImageSpec(base_image="scratch", add_rootfs=True)).splitlines()[-1]
    assert command.endswith('"--host", "0.0.0.0"]')


def test_workers_default_to_the_available_cores() -> None:
    assert serve.default_workers() >= 1


def test_port_env_is_used_when_no_flag_is_given(trained: Trained, tmp_path: Path) -> None:
    server = start_server(trained.model_dir, tmp_path / "log", "--workers", "1", port_from_env=True)
    try:
        assert httpx.get(f"{server.url}/v2/health/live").json() == {"live": True}
    finally:
        server.stop()


def test_settings_default_to_their_environment_variables() -> None:
    env = {"LOCKSHIP_INPUT_LOG": "/var/log/inputs", "LOCKSHIP_MODEL_NAME": "cancer", "LOCKSHIP_MAX_BODY_BYTES": "1024"}
    args = serve.parse_args(["model"], env)
    assert (args.input_log, args.model_name, args.max_body_bytes) == ("/var/log/inputs", "cancer", 1024)
    assert serve.parse_args(["model", "--model-name", "other"], env).model_name == "other"
    assert serve.parse_args(["model"], {}).input_log == "input-log"


def test_a_worker_that_cannot_start_stops_the_server(trained: Trained, tmp_path: Path) -> None:
    # The parent checks the hashes; only the workers load the model and run the smoke prediction.
    copy = shutil.copytree(trained.model_dir, tmp_path / "model-dir")
    package = json.loads((copy / "package.json").read_text())
    package["example_probabilities"] = package["example_probabilities"][::-1]
    (copy / "package.json").write_text(json.dumps(package))
    server = start_server(copy, tmp_path / "log", "--workers", "2")
    assert server.process.wait(timeout=60) == 1
    output = server.output()
    assert f"{copy}: smoke prediction on the example row gave probabilities" in output
    assert output.rstrip().endswith("lockship serve: refusing to start")
    assert "Traceback" not in output


def test_an_unwritable_input_log_refuses_before_any_worker_starts(trained: Trained, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    server = start_server(trained.model_dir, blocker / "log", "--workers", "2")
    assert server.process.wait(timeout=60) == 1
    assert (
        server.output()
        .rstrip()
        .endswith(
            f"{blocker / 'log'}: cannot write the input log: Not a directory; point --input-log ($LOCKSHIP_INPUT_LOG) "
            "at a writable volume\nlockship serve: refusing to start"
        )
    )


def test_the_scratch_directory_lives_beside_the_input_log(tmp_path: Path) -> None:
    scratch = serve.scratch_dir(tmp_path / "log")
    assert scratch.parent == tmp_path / "log" and scratch.name.startswith(".serve-")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(serve.LockshipError) as caught:
        serve.scratch_dir(blocker / "log")
    first, last = caught.value.problems
    assert first == (
        f"{blocker / 'log'}: cannot write the input log: Not a directory; "
        "point --input-log ($LOCKSHIP_INPUT_LOG) at a writable volume"
    )
    assert last == "lockship serve: refusing to start"


READ_ONLY_TMP = (
    "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp && "
    "mount --bind /var/tmp /var/tmp && mount -o remount,bind,ro /var/tmp && "
    'mount -t tmpfs -o size=16m tmpfs "$LOG" && cd /tmp && exec "$@"'
)


def test_two_workers_start_without_a_writable_tmp(trained: Trained, tmp_path: Path) -> None:
    # Issue 8: docker's --read-only root with no writable /tmp gave "No usable temporary directory found".
    # A private mount namespace makes /tmp and /var/tmp read-only for the server alone; its input log
    # is a writable volume, as in such a container.
    if shutil.which("unshare") is None or run("unshare", "--mount", "true", cwd=tmp_path, check=False).returncode:
        pytest.skip("no mount namespaces here (unshare --mount)")
    log = tmp_path / "log"
    log.mkdir()
    port = serving.free_port()
    command = [
        "unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY_TMP, "sh",
        sys.executable, "-m", "lockship", "serve", str(trained.model_dir), "--host", "127.0.0.1",
        "--port", str(port), "--workers", "2", "--input-log", str(log),
    ]  # fmt: skip
    environment = {key: value for key, value in os.environ.items() if key not in ("TMPDIR", "TEMP", "TMP")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**environment, "LOG": str(log)})  # fmt: skip
    server = serving.Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + serving.START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{server.url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, server.output()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for _ in range(4):
                assert client.post("/predict", json={"records": trained.records(1)}).status_code == 200
            metrics = client.get("/metrics").text  # merged from both workers' files on the log volume
        assert 'lockship_requests_total{endpoint="/predict",method="POST",status="200"} 4.0' in metrics
    finally:
        assert server.stop() == 0
    output = server.output()
    assert "No usable temporary directory" not in output and "Traceback" not in output
