"""The image's Python base, by content: a Debian rootfs made of exactly the locked .debs, or a registry image by digest.

`lockship base-lock` resolves `package.base` into package/base.lock (see baselock.py): for
`mmdebstrap:SUITE` it bootstraps once from the mirror and records every installed package with the
sha256 of its .deb; for a registry image it records the manifest digest. A build then takes the
locked .debs from the cache (or fetches those exact versions from the mirror and checks their
sha256), bootstraps from a flat repository holding only them, and checks that exactly they were
installed. The rootfs is cached under its own sha256, found through the lock's digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lockship.core.errors import LockshipError
from lockship.core.fsio import file_digest, write_outputs
from lockship.packaging import baselock
from lockship.packaging.baselock import RESOLVE, BaseLock, Deb, DebianLock, RegistryLock
from lockship.packaging.debs import apt_sources, cached, fetch, flat_repository, store
from lockship.packaging.tarball import MTIME

DEBIAN_PREFIX = "mmdebstrap:"
# The one fixed time of everything in an image (the rootfs, the layers, the `created` label).
SOURCE_DATE_EPOCH = str(MTIME)
BUILD_FORMAT = "2"  # bump when how a rootfs is made from a lock changes
DEFAULT_PACKAGES = ("python3", "libstdc++6", "libgomp1")
DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/doc/*/copyright",
    # iconv's charset modules (9 MB): Python's codecs are its own.
    "path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*",
)
MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/merged-usr"
_LISTED = "${Package}\\t${Version}\\t${Architecture}\\n"


@dataclass(frozen=True)
class Base:
    """Where the image starts: `image` for FROM, and a rootfs tar to ADD when it is built locally."""

    image: str
    rootfs: Path | None
    digest: str | None  # sha256 of the rootfs tar, or the registry image's manifest digest


def cache_dir() -> Path:
    """lockship's cache: $LOCKSHIP_CACHE_DIR, else $XDG_CACHE_HOME/lockship, else ~/.cache/lockship."""
    if os.environ.get("LOCKSHIP_CACHE_DIR"):
        return Path(os.environ["LOCKSHIP_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "lockship"


def recipe() -> dict[str, object]:
    """What this lockship bootstraps a Debian base with, beside the suite: a lock made otherwise is stale."""
    return {"include": sorted(DEFAULT_PACKAGES), "dpkg": list(DPKG_OPTIONS)}


def _mmdebstrap(suite: str, architecture: str, mirror: str, target: str, options: Sequence[str]) -> None:
    if shutil.which("mmdebstrap") is None:
        raise LockshipError("mmdebstrap: not installed; run scripts/install-system-packages")
    command = ["mmdebstrap", "--quiet", "--variant=essential", f"--architectures={architecture}"]
    command.append(f"--include={','.join(sorted(DEFAULT_PACKAGES))}")
    # Debian's merged /usr without the usrmerge package, which would pull in all of perl.
    if os.path.isdir(MERGED_USR_HOOK):
        command.append(f"--hook-dir={MERGED_USR_HOOK}")
    command += [f"--dpkgopt={option}" for option in DPKG_OPTIONS]
    command += [*options, suite, target, mirror]
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise LockshipError(f"mmdebstrap: bootstrapping {suite} failed (exit {result.returncode}):\n{tail}")


def _list_hook(listing: Path) -> str:
    """A customize hook writing the installed packages (name, version, architecture) to `listing`."""
    return f"--customize-hook=dpkg-query --admindir=\"$1/var/lib/dpkg\" -W -f='{_LISTED}' > {shlex.quote(str(listing))}"


def _installed(listing: Path) -> set[tuple[str, str, str]]:
    rows = (line.split("\t") for line in listing.read_text(encoding="utf-8").splitlines() if line)
    return {(name, version, arch) for name, version, arch in rows}


def _host_architecture() -> str:
    result = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LockshipError("dpkg: cannot tell this machine's Debian architecture; the Debian base needs dpkg")
    return result.stdout.strip()


def resolve_debian(base: str, *, cache: Path) -> DebianLock:
    """Bootstrap `base` once from the mirror as it is today; lock every installed package by its .deb."""
    suite = base[len(DEBIAN_PREFIX) :]
    architecture = _host_architecture()
    root = cache / "base"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".resolve-") as scratch:
        downloads, listing = Path(scratch) / "debs", Path(scratch) / "installed"
        downloads.mkdir()
        # Keep the essential packages' .debs, which mmdebstrap deletes once installed, and copy all out.
        options = ["--skip=essential/unlink", f"--customize-hook=sync-out /var/cache/apt/archives {downloads}"]
        _mmdebstrap(suite, architecture, str(apt_sources()), "/dev/null", [*options, _list_hook(listing)])
        debs = store(root / "debs", downloads.glob("*.deb"))
        installed = _installed(listing)
    stored = {(deb.name, deb.version, deb.architecture): deb for deb in debs}
    unmatched = sorted(f"{name} {version}" for name, version, _ in installed - set(stored))
    if unmatched:
        raise LockshipError(f"mmdebstrap: installed {', '.join(unmatched)} but left no .deb of it to lock")
    packages = tuple(sorted(stored[key] for key in installed))
    return DebianLock(base, suite, architecture, tuple(sorted(DEFAULT_PACKAGES)), DPKG_OPTIONS, packages)


def resolve_registry(base: str) -> RegistryLock:
    """A registry image by its manifest digest (skopeo asks the registry; a digest given is kept)."""
    digest = base.split("@", 1)[1] if "@" in base else _registry_digest(base)
    if not baselock.DIGEST.match(digest):
        raise LockshipError(f"{base}: {digest!r} is not an image digest (sha256:<64 hex>)")
    return RegistryLock(base=base, digest=digest)


def _registry_digest(base: str) -> str:
    if shutil.which("skopeo") is None:
        raise LockshipError("skopeo: not installed; it resolves a registry base to its digest")
    command = ["skopeo", "inspect", "--no-tags", "--format", "{{.Digest}}", f"docker://{base}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise LockshipError(f"skopeo: cannot resolve the base image {base} to a digest: {tail}")
    return result.stdout.strip()


def resolve(base: str, *, cache: Path | None = None) -> BaseLock:
    """`package.base` resolved into a lock: what `lockship base-lock` writes."""
    if base.startswith(DEBIAN_PREFIX):
        return resolve_debian(base, cache=cache or cache_dir())
    return resolve_registry(base)


def _drop_corrupt(debs: Sequence[Deb], cache: Path) -> None:
    """Every cached .deb still has its locked sha256 (a corrupt one is dropped and fetched again)."""
    for deb in debs:
        path = cached(cache, deb)
        if path.is_file() and file_digest(path, "sha256") != deb.sha256:
            path.unlink()


def debian_base(lock: DebianLock, *, cache: Path | None = None, where: str = baselock.BASE_LOCK) -> Base:
    """A rootfs tar of exactly the locked packages, from the cache when this lock has been built."""
    root = (cache or cache_dir()) / "base"
    key = hashlib.sha256(f"{baselock.digest(lock)} {SOURCE_DATE_EPOCH} {BUILD_FORMAT}".encode()).hexdigest()
    pointer = root / "locks" / f"{key}.json"
    if pointer.is_file():
        digest = json.loads(pointer.read_text(encoding="utf-8"))["sha256"]
        tar = root / "sha256" / digest / "rootfs.tar"
        if tar.is_file():
            return Base(image="scratch", rootfs=tar, digest=digest)
    debs = root / "debs"
    _drop_corrupt(lock.packages, debs)
    missing = [deb for deb in lock.packages if not cached(debs, deb).is_file()]
    if missing:
        fetch(missing, architecture=lock.architecture, sources=apt_sources(), cache=debs, where=where)
    with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as scratch:
        target, listing = Path(scratch) / "rootfs.tar", Path(scratch) / "installed"
        mirror = flat_repository(
            Path(scratch) / "repo", lock.packages, debs, suite=lock.suite, architecture=lock.architecture
        )
        # The image keeps no apt sources: they named this build's temporary repository.
        forget = '--customize-hook=rm -f "$1/etc/apt/sources.list" "$1"/etc/apt/sources.list.d/*'
        _mmdebstrap(lock.suite, lock.architecture, mirror, str(target), [_list_hook(listing), forget])
        expected = {(deb.name, deb.version, deb.architecture) for deb in lock.packages}
        if _installed(listing) != expected:
            extra = sorted(f"{n} {v}" for n, v, _ in _installed(listing) ^ expected)
            raise LockshipError(
                f"{where}: the bootstrap installed another set than the lock ({', '.join(extra)}); {RESOLVE}"
            )
        digest = file_digest(target, "sha256")
        final = root / "sha256" / digest
        if not (final / "rootfs.tar").is_file():
            final.mkdir(parents=True, exist_ok=True)
            os.replace(target, final / "rootfs.tar")
    write_outputs({pointer: json.dumps({"sha256": digest}) + "\n"})
    return Base(image="scratch", rootfs=final / "rootfs.tar", digest=digest)


def resolve_base(spec: str, lock: BaseLock, *, where: str, cache: Path | None = None) -> Base:
    """The base `package.base` names, as its committed lock (read from `where`) pins it."""
    baselock.check_recipe(lock, base=spec, where=where, recipe=recipe())
    if isinstance(lock, RegistryLock):
        return Base(image=lock.image, rootfs=None, digest=lock.digest)
    return debian_base(lock, cache=cache, where=where)
