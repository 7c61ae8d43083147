"""Fixtures for running lockship's hooks through the real pre-commit framework."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from tests.conftest import copy_project, run


@pytest.fixture(scope="session")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed copy of this project to serve as the pre-commit hooks repository: (path, commit)."""
    path = copy_project(tmp_path_factory.mktemp("hooks-repo") / "lockship")
    rev = run("git", "rev-parse", "HEAD", cwd=path).stdout.strip()
    return path, rev


def use_hooks(
    repo: Path,
    hooks_repo: tuple[Path, str],
    hooks: Sequence[str | dict[str, object]],
) -> None:
    """Point `repo`'s .pre-commit-config.yaml at the hooks repo and install both git hook types.

    Each hook is an id, or a mapping with `id` plus overrides such as `args`.
    """
    path, rev = hooks_repo
    config = {
        "repos": [{"repo": str(path), "rev": rev, "hooks": [h if isinstance(h, dict) else {"id": h} for h in hooks]}]
    }
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run("pre-commit", "install", "--hook-type", "pre-commit", "--hook-type", "pre-push", cwd=repo)


def outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from an empty directory that no git repository above it can claim; returns it."""
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return plain
