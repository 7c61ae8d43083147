"""A local apt mirror for tests: a flat repository of .deb files, its Packages index written here.

It stands in for the Debian mirror through $LOCKSHIP_APT_SOURCES, so the base lock's tests need no
network: the .debs come from lockship's cache, where building the committed base lock put them.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from lockship.packaging import baselock
from lockship.packaging.base import cache_dir, debian_base
from lockship.packaging.baselock import Deb, DebianLock
from tests.conftest import REPO_ROOT


def committed_lock() -> DebianLock:
    lock = baselock.load(REPO_ROOT / baselock.BASE_LOCK)
    assert isinstance(lock, DebianLock)
    return lock


def cached_debs() -> dict[Deb, Path]:
    """The committed lock's .debs in lockship's cache (building its base fetches any missing)."""
    lock = committed_lock()
    debian_base(lock)
    return {deb: cache_dir() / "base" / "debs" / f"{deb.sha256}.deb" for deb in lock.packages}


def mirror(directory: Path, debs: dict[Deb, Path], *, suite: str = "bookworm") -> Path:
    """A flat repository of `debs` under `directory`; returns a sources file (one-line format) naming it."""
    repo = directory / "repo"
    repo.mkdir(parents=True)
    stanzas = []
    for deb, source in sorted(debs.items()):
        name = f"{deb.name}_{deb.version.replace(':', '%3a')}_{deb.architecture}.deb"
        shutil.copyfile(source, repo / name)
        control = subprocess.run(["dpkg-deb", "-f", str(source)], capture_output=True, text=True, check=True).stdout
        data = source.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        stanzas.append(f"{control.rstrip()}\nFilename: ./{name}\nSize: {len(data)}\nSHA256: {sha}\n")
    index = "\n".join(stanzas).encode()
    (repo / "Packages").write_bytes(index)
    digest = hashlib.sha256(index).hexdigest()
    (repo / "Release").write_text(
        f"Suite: {suite}\nCodename: {suite}\nArchitectures: amd64 all\nSHA256:\n {digest} {len(index)} Packages\n"
    )
    sources = directory / "mirror.list"
    # copy://: mmdebstrap's dpkg inside the chroot cannot reach a file:// path outside it.
    sources.write_text(f"deb [trusted=yes] copy://{repo} ./\n")
    return sources
