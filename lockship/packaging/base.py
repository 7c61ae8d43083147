"""The image's Python base: built locally from Debian packages with mmdebstrap, or a registry image.

A Debian base needs no registry. Debian publishes updates, so the same recipe can give a new rootfs:
each rootfs is kept under a directory named by its own sha256 (the digest recorded in build facts),
and a recipe points at the digest it last produced, so packaging rebuilds the base only when the
recipe changes or a refresh is asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lockship.core.errors import LockshipError
from lockship.core.fsio import file_digest, write_outputs

DEBIAN_PREFIX = "mmdebstrap:"
# Any fixed time: it makes two builds of the same packages give the same tar.
SOURCE_DATE_EPOCH = "946684800"
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
# The mirror comes from the host's own apt configuration, never from the project.
APT_SOURCES = ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list")
MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/merged-usr"


@dataclass(frozen=True)
class Base:
    """Where the image starts: `image` for FROM, and a rootfs tar to ADD when it is built locally."""

    image: str
    rootfs: Path | None
    digest: str | None  # sha256 of the rootfs tar; a registry base's digest comes from the builder


def cache_dir() -> Path:
    """lockship's cache: $LOCKSHIP_CACHE_DIR, else $XDG_CACHE_HOME/lockship, else ~/.cache/lockship."""
    if os.environ.get("LOCKSHIP_CACHE_DIR"):
        return Path(os.environ["LOCKSHIP_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "lockship"


def apt_sources() -> Path:
    for name in APT_SOURCES:
        if os.path.isfile(name):
            return Path(name)
    raise LockshipError(f"{APT_SOURCES[0]}: no apt sources on this machine to build a Debian base from")


def recipe(suite: str, packages: tuple[str, ...], sources: Path) -> dict[str, object]:
    return {
        "suite": suite,
        "packages": sorted(packages),
        "dpkg": list(DPKG_OPTIONS),
        "sources": file_digest(sources, "sha256"),
        "epoch": SOURCE_DATE_EPOCH,
    }


def debian_base(
    suite: str, packages: tuple[str, ...] = DEFAULT_PACKAGES, *, cache: Path | None = None, refresh: bool = False
) -> Base:
    """A rootfs tar of `suite` with `packages`, from the cache when this recipe has been built."""
    root = (cache or cache_dir()) / "base"
    sources = apt_sources()
    key = hashlib.sha256(json.dumps(recipe(suite, packages, sources), sort_keys=True).encode()).hexdigest()
    pointer = root / "recipes" / f"{key}.json"
    if not refresh and pointer.is_file():
        digest = json.loads(pointer.read_text(encoding="utf-8"))["sha256"]
        tar = root / "sha256" / digest / "rootfs.tar"
        if tar.is_file():
            return Base(image="scratch", rootfs=tar, digest=digest)
    if shutil.which("mmdebstrap") is None:
        raise LockshipError("mmdebstrap: not installed; run scripts/install-system-packages")
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as scratch:
        target = Path(scratch) / "rootfs.tar"
        command = ["mmdebstrap", "--quiet", "--variant=essential", f"--include={','.join(sorted(packages))}"]
        # Debian's merged /usr without the usrmerge package, which would pull in all of perl.
        if os.path.isdir(MERGED_USR_HOOK):
            command.append(f"--hook-dir={MERGED_USR_HOOK}")
        command += [f"--dpkgopt={option}" for option in DPKG_OPTIONS]
        command += [suite, str(target), str(sources)]
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            raise LockshipError(f"mmdebstrap: building the {suite} base failed (exit {result.returncode}):\n{tail}")
        digest = file_digest(target, "sha256")
        final = root / "sha256" / digest
        if not (final / "rootfs.tar").is_file():
            final.mkdir(parents=True, exist_ok=True)
            os.replace(target, final / "rootfs.tar")
    write_outputs({pointer: json.dumps({"sha256": digest}) + "\n"})
    return Base(image="scratch", rootfs=final / "rootfs.tar", digest=digest)


def resolve_base(spec: str, *, cache: Path | None = None, refresh: bool = False) -> Base:
    """`mmdebstrap:SUITE` builds locally from Debian packages; anything else is a registry image for FROM."""
    if spec.startswith(DEBIAN_PREFIX):
        return debian_base(spec[len(DEBIAN_PREFIX) :], cache=cache, refresh=refresh)
    return Base(image=spec, rootfs=None, digest=None)
