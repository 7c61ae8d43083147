"""lockship serve: refuses tampered models, picks host, port and workers, and serves on one or more workers."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from lockship.commands import serve
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


def test_host_is_all_interfaces_only_inside_a_container(tmp_path: Path) -> None:
    marker = tmp_path / ".containerenv"
    assert not serve.in_container({}, markers=[str(marker)])
    assert serve.in_container({"container": "podman"}, markers=[str(marker)])
    marker.touch()
    assert serve.in_container({}, markers=[str(marker)])
    assert serve.default_host({"container": "oci"}) == "0.0.0.0"


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
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    server = start_server(trained.model_dir, blocker / "log", "--workers", "2")
    assert server.process.wait(timeout=60) == 1
    output = server.output()
    assert output.rstrip().endswith(
        f"{blocker / 'log'}: cannot write the input log: Not a directory\nlockship serve: refusing to start"
    )
    assert "Traceback" not in output
