"""The project's shape: one installable package with no generic import names, a true quick start."""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT, copy_project, run


def quick_start_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text()
    section = re.search(r"^## Quick start\n(.*?)^## ", readme, re.M | re.S)
    assert section, "README has no '## Quick start' section"
    blocks = re.findall(r"^```\w*\n(.*?)^```", section.group(1), re.M | re.S)
    assert len(blocks) == 1, "the quick start is one fenced block"
    return [line.strip() for line in blocks[0].splitlines() if line.strip() and not line.startswith("#")]


def test_quick_start_is_run_then_test_and_ci_runs_exactly_the_test_command() -> None:
    commands = quick_start_commands()
    assert commands == ["make run", "make test"]
    ci_commands = [
        line.strip()
        for line in (REPO_ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_commands == [commands[1]]


def test_wheel_installs_only_the_lockship_import_name(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path, ".",
        cwd=project)  # fmt: skip
    (wheel,) = tmp_path.glob("lockship-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"lockship", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "lockship/stages/prepare.py" in names and "lockship/hooks/__init__.py" in names
    assert "lockship/py.typed" in names


def test_params_has_one_section_per_stage() -> None:
    stages = set(yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"])
    sections = set(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))
    assert sections - {"lockship"} <= stages, "params.yaml sections must be named after stages"
    for name, stage in yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"].items():
        if name in sections:
            assert any(str(p).split(".")[0] == name for p in stage.get("params", [])), f"{name} reads its section"
