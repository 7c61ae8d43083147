"""Debian packages by content: a cache of .debs named by sha256, fetched at exact versions, served flat.

The mirror comes from the host's own apt configuration (or $LOCKSHIP_APT_SOURCES), never from the
project. apt runs with a private state directory, so the host's package lists are neither read nor
changed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from lockship.core.errors import LockshipError
from lockship.core.fsio import file_digest
from lockship.packaging.baselock import RESOLVE, Deb

APT_SOURCES = ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list")
SOURCES_ENV = "LOCKSHIP_APT_SOURCES"
# What apt-get says when the mirror lacks a package or a version of it.
_MISSING = (
    re.compile(r"Version '(?P<version>[^']+)' for '(?P<name>[^':]+)(?::[^']*)?' was not found"),
    re.compile(r"Unable to locate package (?P<name>[^\s:]+)"),
    re.compile(r"Package '?(?P<name>[^\s':]+)'? has no installation candidate"),
)


def apt_sources() -> Path:
    """$LOCKSHIP_APT_SOURCES when set, else the host's apt sources file."""
    named = os.environ.get(SOURCES_ENV)
    if named:
        if not os.path.isfile(named):
            raise LockshipError(f"{named}: no such apt sources file (named by ${SOURCES_ENV})")
        return Path(named)
    for name in APT_SOURCES:
        if os.path.isfile(name):
            return Path(name)
    raise LockshipError(f"{APT_SOURCES[0]}: no apt sources on this machine (or set ${SOURCES_ENV} to a sources file)")


def _run(command: Sequence[str], *, what: str, cwd: Path | None = None) -> str:
    result = subprocess.run(list(command), capture_output=True, text=True, cwd=cwd, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise LockshipError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def deb_of(path: Path) -> Deb:
    """Name, version, architecture and sha256 of a .deb file, from its own control data."""
    fields = _run(["dpkg-deb", "--field", str(path), "Package", "Version", "Architecture"], what=f"dpkg-deb {path}")
    values = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
    return Deb(values["Package"], values["Version"], values["Architecture"], file_digest(path, "sha256"))


def cached(root: Path, deb: Deb) -> Path:
    return root / f"{deb.sha256}.deb"


def store(root: Path, files: Iterable[Path]) -> list[Deb]:
    """Move .deb files into the cache under their sha256 (after all are read, so none half-way)."""
    found = [(deb_of(path), path) for path in sorted(files)]
    root.mkdir(parents=True, exist_ok=True)
    for deb, path in found:
        os.replace(path, cached(root, deb))
    return [deb for deb, _ in found]


def _apt(state: Path, sources: Path, architecture: str) -> list[str]:
    """apt-get with its own lists and cache under `state`, reading only `sources` for the mirror."""
    parts = state / "sources.list.d"
    if not parts.is_dir():
        parts.mkdir(parents=True)
        # apt tells deb822 from one-line sources by the file name's extension.
        suffix = ".sources" if sources.suffix == ".sources" else ".list"
        shutil.copyfile(sources, parts / f"mirror{suffix}")
        (state / "lists" / "partial").mkdir(parents=True)
        (state / "archives" / "partial").mkdir(parents=True)
        (state / "status").write_text("")
    options = {
        "Dir::Etc::SourceList": "/dev/null",
        "Dir::Etc::SourceParts": str(parts),
        "Dir::State": str(state),
        "Dir::State::Lists": str(state / "lists"),
        "Dir::State::status": str(state / "status"),
        "Dir::Cache": str(state),
        "Dir::Cache::Archives": str(state / "archives"),
        "APT::Architecture": architecture,
        "APT::Architectures": architecture,
        "Debug::NoLocking": "1",
    }
    return ["apt-get", "-q", *(f"-o{key}={value}" for key, value in options.items())]


def fetch(wanted: Sequence[Deb], *, architecture: str, sources: Path, cache: Path, where: str) -> None:
    """Download exactly these versions from the mirror, check each sha256, then add them to the cache."""
    if shutil.which("apt-get") is None:
        raise LockshipError("apt-get: not installed; the Debian base needs apt and dpkg")
    with tempfile.TemporaryDirectory(dir=_parent(cache), prefix=".fetch-") as scratch:
        state, downloads = Path(scratch) / "apt", Path(scratch) / "debs"
        downloads.mkdir()
        apt = _apt(state, sources, architecture)
        _update(apt, sources)
        names = [f"{deb.name}:{deb.architecture}={deb.version}" for deb in wanted]
        result = subprocess.run([*apt, "download", *names], capture_output=True, text=True, cwd=downloads, check=False)
        if result.returncode != 0:
            raise LockshipError(*missing_lines(result.stderr, wanted, where=where))
        got = {deb_of(path): path for path in downloads.glob("*.deb")}
        by_version = {(deb.name, deb.version, deb.architecture): deb for deb in got}
        problems = []
        for deb in wanted:
            served = by_version.get((deb.name, deb.version, deb.architecture))
            if served is None:
                problems.append(f"{where}: {deb} was not downloaded from the apt mirror; {RESOLVE}")
            elif served.sha256 != deb.sha256:
                problems.append(
                    f"{where}: {deb}: the apt mirror serves a .deb whose sha256 is {served.sha256[:12]}, "
                    f"not the locked {deb.sha256[:12]}; {RESOLVE}"
                )
        if problems:
            raise LockshipError(*problems)
        store(cache, got.values())


def _update(apt: Sequence[str], sources: Path) -> None:
    """Read the mirror's package lists; a mirror that cannot be read is said so, not taken as empty."""
    result = subprocess.run([*apt, "update"], capture_output=True, text=True, check=False)
    failed = [line for line in result.stderr.splitlines() if line.startswith(("E:", "W: Failed to fetch"))]
    if result.returncode != 0 or failed:
        detail = (failed or result.stderr.strip().splitlines() or ["no output"])[0]
        raise LockshipError(f"{sources}: cannot read the apt mirror it names: {detail}")


def missing_lines(stderr: str, wanted: Sequence[Deb], *, where: str) -> list[str]:
    """One line per locked package apt-get could not find; apt's own last error when it names none."""
    locked = {deb.name: deb for deb in wanted}
    lines: list[str] = []
    for pattern in _MISSING:
        for match in pattern.finditer(stderr):
            deb = locked.get(match["name"])
            if deb is not None:
                lines.append(f"{where}: {deb} is no longer served by the apt mirror; {RESOLVE}")
    if lines:
        return sorted(set(lines))
    errors = [line for line in stderr.splitlines() if line.startswith("E:")] or stderr.strip().splitlines()[-1:]
    return [f"{where}: apt-get download failed: {errors[-1] if errors else 'no output'}"]


def flat_repository(directory: Path, debs: Sequence[Deb], cache: Path, *, suite: str, architecture: str) -> str:
    """A trusted flat apt repository of exactly these .debs; returns its sources line.

    Its Release file names the suite: mmdebstrap picks the essential set from the suite's archive.
    """
    directory.mkdir(parents=True)
    stanzas = []
    for deb in sorted(debs):
        source = cached(cache, deb)
        target = directory / source.name
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        control = _run(["dpkg-deb", "--field", str(target)], what=f"dpkg-deb {target}").rstrip("\n")
        size = target.stat().st_size
        stanzas.append(f"{control}\nFilename: ./{target.name}\nSize: {size}\nSHA256: {deb.sha256}\n")
    index = "\n".join(stanzas).encode("utf-8")
    (directory / "Packages").write_bytes(index)
    release = (
        f"Suite: {suite}\nCodename: {suite}\nArchitectures: {architecture} all\n"
        f"SHA256:\n {hashlib.sha256(index).hexdigest()} {len(index)} Packages\n"
    )
    (directory / "Release").write_text(release, encoding="utf-8")
    # copy://, not file://: apt then copies each .deb into the chroot, where dpkg can reach it.
    return f"deb [trusted=yes] copy://{directory} ./"


def _parent(cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    return cache.parent
