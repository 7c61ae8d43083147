"""The package stage's thin layer: its params, its arguments and its errors (the build itself is
exercised for real in tests/packaging/test_image.py)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from lockship.core.errors import LockshipError
from lockship.packaging.example import example_row
from stages.package import main, read_example, read_settings
from tests.conftest import REPO_ROOT, copy_project, run
from tests.serving.conftest import start_server

GOOD = "package:\n  name: lockship-model\n  base: mmdebstrap:bookworm\n  runtime: [fastapi]\n"


def test_the_projects_params_are_valid() -> None:
    settings = read_settings(str(REPO_ROOT / "params.yaml"))
    assert settings.name == "lockship-model" and settings.port == 8000
    assert settings.base.startswith("mmdebstrap:")
    assert {"fastapi", "uvicorn", "numpy"} <= set(settings.runtime)
    assert settings.pipeline_runtime == ("pandas", "scikit-learn", "skops")


def test_bad_params_name_the_line(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(
        GOOD.replace("lockship-model", "Lockship Model") + "  port: 0\n  extra: 1\n  pipeline_runtime: [7]\n"
    )
    with pytest.raises(LockshipError) as error:
        read_settings(str(params))
    problems = "\n".join(error.value.problems)
    assert f"{params}:2: package.name: 'Lockship Model' is not a valid image name" in problems
    assert "package.port: must be at least 1, got 0" in problems
    assert "package.extra: unknown key" in problems
    assert "package.pipeline_runtime: item 0: expected a requirement name, got 7" in problems
    params.write_text("package:\n  name: x\n")
    with pytest.raises(LockshipError, match="missing required key 'base'"):
        read_settings(str(params))


def test_main_fails_in_one_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = ["--model", "m", "--metadata", "md", "--schema", "s", "--profile", "p", "--metrics", "mt"]
    files += [
        "--example",
        "e.csv",
        "--model-dir",
        str(tmp_path / "serve"),
        "--image",
        str(tmp_path / "image.json"),
        "--build",
        str(tmp_path / "b.json"),
    ]
    assert main(["--params", str(tmp_path / "missing.yaml"), *files]) == 1
    assert capsys.readouterr().err == f"{tmp_path / 'missing.yaml'}: file not found\n"
    (tmp_path / "params.yaml").write_text(GOOD)
    assert main(["--params", str(tmp_path / "params.yaml"), "--builder", "kaniko", *files]) == 2
    assert "--builder: 'kaniko' is not one of" in capsys.readouterr().err
    assert not (tmp_path / "image.json").exists()


def test_the_example_row_is_the_first_complete_row_as_json_scalars(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('{"features": [{"name": "b"}, {"name": "a"}]}')
    (tmp_path / "data.csv").write_text("a,b,target\n,2,x\n3.0,4,y\n5.0,6,y\n")
    row = example_row(tmp_path / "data.csv", tmp_path / "metadata.json")
    assert row == {"b": 4, "a": 3.0} and type(row["b"]) is int


def test_sparse_data_gives_the_row_with_fewest_missing_values_whatever_the_order(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('{"features": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}')
    (tmp_path / "data.csv").write_text("a,b,c,target\n,,x,p\n1.5,,,q\n,2,y,p\n")
    assert example_row(tmp_path / "data.csv", tmp_path / "metadata.json") == {"a": None, "b": 2, "c": "y"}
    assert example_row(tmp_path / "data.csv", tmp_path / "metadata.json", row=2) == {"a": 1.5, "b": None, "c": None}
    with pytest.raises(LockshipError, match=r"package\.example: no data row 4 \(the file has 3\)"):
        example_row(tmp_path / "data.csv", tmp_path / "metadata.json", row=4)


def test_the_example_row_can_be_named_in_params(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(GOOD)
    assert read_example(str(tmp_path / "params.yaml")) is None
    (tmp_path / "params.yaml").write_text(GOOD + "  example: 3\n")
    assert read_example(str(tmp_path / "params.yaml")) == 3
    assert read_settings(str(tmp_path / "params.yaml")).name == "lockship-model"
    (tmp_path / "params.yaml").write_text(GOOD + "  example: 0\n")
    with pytest.raises(LockshipError, match=r"package\.example: must be at least 1"):
        read_example(str(tmp_path / "params.yaml"))


def test_dvc_repro_writes_a_model_dir_that_serves_without_container_tools(tmp_path: Path) -> None:
    """No buildah, podman or docker on PATH: package writes models/serve only, and `lockship serve` serves it."""
    project = copy_project(tmp_path / "project")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "git").symlink_to(shutil.which("git") or "git")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{tools}"}
    result = run("dvc", "repro", cwd=project, env=env)
    assert "no container builder found" in result.stdout and "lockship serve models/serve" in result.stdout
    assert json.loads((project / "package/build.json").read_text())["built"] is False
    image = json.loads((project / "package/image.json").read_text())
    assert image["image"].endswith(":" + image["lock_hash"][:12])
    assert run("git", "status", "--porcelain", "--", "models", cwd=project).stdout == ""
    # The model directory is a reproducible output: packaging again gives the same bytes, so the same dvc.lock.
    lock = (project / "dvc.lock").read_bytes()
    run("dvc", "repro", "--force", "--single-item", "package", cwd=project, env=env)
    assert (project / "dvc.lock").read_bytes() == lock and b"models/serve" in lock
    server = start_server(project / "models/serve", tmp_path / "log", "--workers", "1", env=env)
    try:
        assert server.process.poll() is None, server.output()
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
        package = json.loads((project / "models/serve/package.json").read_text())
        assert package["lock_hash"] == image["lock_hash"]
    finally:
        server.stop()
