"""The Python base: a registry image as named, or a Debian rootfs cached under its own sha256."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from lockship.packaging.base import DEFAULT_PACKAGES, cache_dir, debian_base, resolve_base


def test_a_registry_base_is_used_by_name(tmp_path: Path) -> None:
    base = resolve_base("python:3.11-slim", cache=tmp_path)
    assert (base.image, base.rootfs, base.digest) == ("python:3.11-slim", None, None)
    assert not list(tmp_path.iterdir())


def test_the_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCKSHIP_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("LOCKSHIP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "lockship"


@pytest.mark.skipif(shutil.which("mmdebstrap") is None, reason="needs mmdebstrap")
@pytest.mark.timeout(600)
def test_the_debian_base_is_kept_under_its_sha256_and_reused() -> None:
    # The user cache, shared with the image tests: a cold machine builds the base once (about 30 s).
    first = debian_base("bookworm", DEFAULT_PACKAGES)
    assert first.image == "scratch" and first.rootfs is not None and first.digest is not None
    assert first.rootfs.parent.name == first.digest
    assert hashlib.sha256(first.rootfs.read_bytes()).hexdigest() == first.digest
    written = first.rootfs.stat().st_mtime_ns
    again = debian_base("bookworm", DEFAULT_PACKAGES)
    assert again == first
    assert first.rootfs.stat().st_mtime_ns == written  # found, not rebuilt
