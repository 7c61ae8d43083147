"""The Python base by content: the base lock's text and errors, and a Debian rootfs built from exactly its .debs."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.packaging import baselock
from lockship.packaging.base import cache_dir, debian_base, recipe, resolve, resolve_base
from lockship.packaging.baselock import RESOLVE, Deb, DebianLock, RegistryLock
from lockship.packaging.debs import SOURCES_ENV, apt_sources, fetch, missing_lines
from tests.packaging.aptrepo import cached_debs, committed_lock, mirror

DIGEST = "sha256:" + "ab" * 32
LIBC = Deb("libc6", "2.36-9+deb12u9", "amd64", "cd" * 32)
LOCK = DebianLock(
    base="mmdebstrap:bookworm",
    suite="bookworm",
    architecture="amd64",
    include=("python3", "libgomp1"),
    dpkg=("path-exclude=/usr/share/man/*",),
    packages=(LIBC, Deb("base-files", "12.4", "amd64", "ef" * 32)),
)
needs_mmdebstrap = pytest.mark.skipif(shutil.which("mmdebstrap") is None, reason="needs mmdebstrap")


def test_a_debian_lock_is_canonical_sorted_json_and_parses_back() -> None:
    text = baselock.render(LOCK)
    data = json.loads(text)
    assert [p["name"] for p in data["packages"]] == ["base-files", "libc6"]
    assert data["include"] == ["libgomp1", "python3"]
    parsed = baselock.parse(text, where="x")
    assert baselock.render(parsed) == text
    assert baselock.digest(parsed) == hashlib.sha256(text.encode()).hexdigest()


def test_a_registry_lock_names_the_image_by_digest_never_by_tag() -> None:
    assert RegistryLock("python:3.11-slim", DIGEST).image == f"python@{DIGEST}"
    assert RegistryLock("127.0.0.1:5000/team/py:3.11", DIGEST).image == f"127.0.0.1:5000/team/py@{DIGEST}"
    assert RegistryLock("127.0.0.1:5000/py", DIGEST).image == f"127.0.0.1:5000/py@{DIGEST}"
    lock = baselock.parse(baselock.render(RegistryLock("python:3.11-slim", DIGEST)), where="x")
    assert lock == RegistryLock("python:3.11-slim", DIGEST)
    # A reference already pinned by digest resolves without asking any registry.
    assert resolve(f"python@{DIGEST}") == RegistryLock(f"python@{DIGEST}", DIGEST)
    with pytest.raises(LockshipError, match="python@sha256:ab: 'sha256:ab' is not an image digest"):
        resolve("python@sha256:ab")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "invalid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        ('{"format": 9, "base": "x"}', "not a lockship base lock (format 1)"),
        ('{"format": 1, "base": "x", "digest": "latest"}', "digest 'latest' is not sha256:<64 hex>"),
        ('{"format": 1, "base": "x", "suite": "bookworm"}', "malformed base lock (KeyError('packages'))"),
    ],
)
def test_a_broken_lock_is_one_line_saying_how_to_re_resolve(text: str, expected: str) -> None:
    with pytest.raises(LockshipError) as caught:
        baselock.parse(text, where="package/base.lock")
    assert caught.value.problems == (f"package/base.lock: {expected}; {RESOLVE}",)


def test_bad_packages_are_one_line_each() -> None:
    data = json.loads(baselock.render(LOCK))
    data["packages"][0]["sha256"] = "abc"
    data["packages"].append(dict(data["packages"][1]))
    with pytest.raises(LockshipError) as caught:
        baselock.parse(json.dumps(data), where="base.lock")
    assert caught.value.problems == (
        "base.lock: package 0 (base-files 12.4): sha256 'abc' is not 64 hex digits",
        "base.lock: package libc6 is listed twice",
    )


def test_a_missing_lock_or_one_for_another_base_says_to_run_base_lock(tmp_path: Path) -> None:
    path = tmp_path / "base.lock"
    with pytest.raises(LockshipError) as caught:
        baselock.load(path)
    assert caught.value.problems == (
        f"{path}: no base lock; run `lockship base-lock` to resolve the base and commit it",
    )
    path.write_text(baselock.render(LOCK))
    with pytest.raises(LockshipError) as caught:
        resolve_base("python:3.11-slim", baselock.load(path), where=str(path))
    assert caught.value.problems == (
        f"{path}: resolved for base 'mmdebstrap:bookworm', but package.base is 'python:3.11-slim'; {RESOLVE}",
    )
    with pytest.raises(LockshipError) as caught:
        resolve_base("mmdebstrap:bookworm", LOCK, where=str(path))
    assert caught.value.problems == (f"{path}: resolved with another dpkg and include than this lockship's; {RESOLVE}",)


def test_a_registry_base_is_built_from_its_digest(tmp_path: Path) -> None:
    lock = RegistryLock("python:3.11-slim", DIGEST)
    base = resolve_base("python:3.11-slim", lock, where="base.lock", cache=tmp_path / "cache")
    assert (base.image, base.rootfs, base.digest) == (f"python@{DIGEST}", None, DIGEST)
    assert not (tmp_path / "cache").exists()


def test_apt_errors_become_one_line_per_locked_package() -> None:
    stderr = (
        "Reading package lists...\n"
        "E: Version '2.36-9+deb12u9' for 'libc6:amd64' was not found\n"
        "E: Unable to locate package base-files\n"
    )
    assert missing_lines(stderr, LOCK.packages, where="package/base.lock") == [
        f"package/base.lock: base-files 12.4 is no longer served by the apt mirror; {RESOLVE}",
        f"package/base.lock: libc6 2.36-9+deb12u9 is no longer served by the apt mirror; {RESOLVE}",
    ]
    other = missing_lines("W: x\nE: Failed to fetch http://x/y  404\n", LOCK.packages, where="b")
    assert other == ["b: apt-get download failed: E: Failed to fetch http://x/y  404"]


def test_the_apt_sources_can_be_named_by_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SOURCES_ENV, str(tmp_path / "nope.list"))
    with pytest.raises(LockshipError, match=r"nope.list: no such apt sources file \(named by \$LOCKSHIP_APT_SOURCES\)"):
        apt_sources()
    (tmp_path / "mine.sources").write_text("Types: deb\n")
    monkeypatch.setenv(SOURCES_ENV, str(tmp_path / "mine.sources"))
    assert apt_sources() == tmp_path / "mine.sources"


def test_the_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCKSHIP_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("LOCKSHIP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "lockship"


def test_the_committed_lock_matches_this_lockships_recipe() -> None:
    lock = committed_lock()
    baselock.check_recipe(lock, base="mmdebstrap:bookworm", where="package/base.lock", recipe=recipe())
    assert {"python3", "libstdc++6", "libgomp1", "libc6"} <= {deb.name for deb in lock.packages}


@needs_mmdebstrap
@pytest.mark.timeout(600)
def test_the_debian_base_is_built_from_the_lock_kept_under_its_sha256_and_reused() -> None:
    # The user cache, shared with the image tests: a cold machine fetches the locked .debs and builds once.
    lock = committed_lock()
    first = debian_base(lock)
    assert first.image == "scratch" and first.rootfs is not None and first.digest is not None
    assert first.rootfs.parent.name == first.digest
    assert hashlib.sha256(first.rootfs.read_bytes()).hexdigest() == first.digest
    written = first.rootfs.stat().st_mtime_ns
    assert debian_base(lock) == first
    assert first.rootfs.stat().st_mtime_ns == written  # found, not rebuilt


@needs_mmdebstrap
def test_a_deb_whose_bytes_differ_from_the_lock_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    debs = cached_debs()
    wanted = next(deb for deb in debs if deb.name == "libgomp1")
    # The same package and version, rebuilt: other bytes, as a compromised or rebuilt mirror would serve.
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-R", str(debs[wanted]), str(unpacked)], check=True)
    rebuilt = tmp_path / "rebuilt.deb"
    subprocess.run(["dpkg-deb", "-Zxz", "-b", str(unpacked), str(rebuilt)], check=True, capture_output=True)
    monkeypatch.setenv(SOURCES_ENV, str(mirror(tmp_path / "mirror", {wanted: rebuilt})))
    cache = tmp_path / "cache" / "debs"
    with pytest.raises(LockshipError) as caught:
        fetch([wanted], architecture="amd64", sources=apt_sources(), cache=cache, where="package/base.lock")
    (line,) = caught.value.problems
    assert line.startswith(f"package/base.lock: {wanted}: the apt mirror serves a .deb whose sha256 is ")
    assert line.endswith(f"not the locked {wanted.sha256[:12]}; {RESOLVE}")
    assert list(cache.iterdir()) == []


def test_a_mirror_that_cannot_be_read_is_said_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sources = tmp_path / "gone.list"
    sources.write_text(f"deb [trusted=yes] copy://{tmp_path / 'nowhere'} ./\n")
    monkeypatch.setenv(SOURCES_ENV, str(sources))
    with pytest.raises(LockshipError) as caught:
        fetch([LIBC], architecture="amd64", sources=apt_sources(), cache=tmp_path / "debs", where="base.lock")
    (line,) = caught.value.problems
    assert line.startswith(f"{sources}: cannot read the apt mirror it names: ")


@needs_mmdebstrap
def test_a_fresh_cache_fetches_every_locked_deb_from_the_mirror(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    debs = cached_debs()
    sources = mirror(tmp_path / "mirror", debs)
    cache = tmp_path / "cache" / "debs"
    fetch(sorted(debs), architecture="amd64", sources=sources, cache=cache, where="package/base.lock")
    assert sorted(path.name for path in cache.iterdir()) == sorted(f"{deb.sha256}.deb" for deb in debs)
    assert {deb.architecture for deb in debs} == {"amd64", "all"}
