"""The package stage's thin layer: its params, its arguments and its errors (the build itself is
exercised for real in tests/packaging/test_image.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.packaging.build import example_row
from stages.package import main, read_settings
from tests.conftest import REPO_ROOT

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
    files += ["--example", "e.csv", "--image", str(tmp_path / "image.json"), "--build", str(tmp_path / "b.json")]
    assert main(["--params", str(tmp_path / "missing.yaml"), *files]) == 1
    assert capsys.readouterr().err == f"{tmp_path / 'missing.yaml'}: file not found\n"
    (tmp_path / "params.yaml").write_text(GOOD)
    assert main(["--params", str(tmp_path / "params.yaml"), "--builder", "kaniko", *files]) == 2
    assert "--builder: 'kaniko' is not one of" in capsys.readouterr().err
    assert not (tmp_path / "image.json").exists()


def test_the_example_row_is_the_first_data_row_as_json_scalars(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('{"features": [{"name": "b"}, {"name": "a"}]}')
    (tmp_path / "data.csv").write_text("a,b,target\n1.5,2,x\n3.0,4,y\n")
    row = example_row(tmp_path / "data.csv", tmp_path / "metadata.json")
    assert row == {"b": 2, "a": 1.5} and type(row["b"]) is int
    (tmp_path / "gap.csv").write_text("a,b,target\n,2,x\n")
    with pytest.raises(LockshipError, match="missing values in a"):
        example_row(tmp_path / "gap.csv", tmp_path / "metadata.json")
