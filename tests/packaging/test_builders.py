"""Choosing the builder: auto-detection per platform, an explicit choice, and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.packaging.builders import Builder, detect


def fake_tools(directory: Path, *names: str) -> str:
    """Executables on PATH that are never run: detection only looks them up."""
    directory.mkdir(exist_ok=True)
    for name in names:
        (directory / name).write_text("#!/bin/sh\nexit 99\n")
        (directory / name).chmod(0o755)
    return str(directory)


def test_auto_prefers_buildah_on_linux_and_docker_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", fake_tools(tmp_path / "bin", "buildah", "podman", "docker"))
    assert detect(system="Linux") == Builder("buildah")
    assert detect(system="Darwin") == Builder("docker")
    monkeypatch.setenv("PATH", fake_tools(tmp_path / "only", "podman"))
    assert detect(system="Linux") == Builder("podman")


def test_an_explicit_choice_overrides_detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", fake_tools(tmp_path / "bin", "buildah", "docker"))
    assert detect("docker", system="Linux") == Builder("docker")
    with pytest.raises(LockshipError, match="podman: not installed"):
        detect("podman")
    with pytest.raises(LockshipError, match="'kaniko' is not one of auto, buildah, podman, docker") as error:
        detect("kaniko")
    assert error.value.exit_code == 2


def test_no_builder_at_all_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", fake_tools(tmp_path / "empty"))
    with pytest.raises(LockshipError, match="no container builder found"):
        detect(system="Linux")


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/buildah").exists(), reason="needs buildah as root")
def test_inspecting_a_missing_image_is_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.packaging.containers import container_env

    for key, value in container_env(tmp_path / "containers").items():
        monkeypatch.setenv(key, value)
    assert Builder("buildah").inspect("localhost/lockship-no-such-image:000000000000") is None
