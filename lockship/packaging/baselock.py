"""The base lock (package/base.lock): what the image's base is, by content, as committed JSON.

For a Debian base it lists every installed package with its exact version, architecture and the
sha256 of its .deb, plus the recipe it was resolved from (suite, included packages, dpkg options), so
a build installs exactly those bytes. For a registry base it holds the image reference by digest.
The lock hash covers this file: re-resolving it (`lockship base-lock`) changes the image tag.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockship.core.errors import LockshipError
from lockship.core.fsio import canonical_json

BASE_LOCK = "package/base.lock"
RESOLVE = "run `lockship base-lock` to re-resolve the base (this changes the image tag)"
FORMAT = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, order=True)
class Deb:
    name: str
    version: str
    architecture: str
    sha256: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class DebianLock:
    """Every package of a Debian base, and the recipe (mmdebstrap arguments) that resolved them."""

    base: str  # the params' `package.base`, e.g. mmdebstrap:bookworm
    suite: str
    architecture: str
    include: tuple[str, ...]
    dpkg: tuple[str, ...]
    packages: tuple[Deb, ...]


@dataclass(frozen=True)
class RegistryLock:
    """A registry base pinned by content: `reference` as params name it, `digest` of its manifest."""

    base: str
    digest: str

    @property
    def image(self) -> str:
        """What FROM takes: the repository at the digest (a tag beside a digest would be ignored)."""
        name = self.base.split("@", 1)[0]
        slash = name.rfind("/")
        colon = name.rfind(":")
        return f"{name[:colon] if colon > slash else name}@{self.digest}"


BaseLock = DebianLock | RegistryLock


def render(lock: BaseLock) -> str:
    """The lock's canonical text: the same lock always gives the same bytes."""
    if isinstance(lock, RegistryLock):
        return canonical_json({"format": FORMAT, "base": lock.base, "digest": lock.digest})
    packages = [
        {"name": d.name, "version": d.version, "architecture": d.architecture, "sha256": d.sha256}
        for d in sorted(lock.packages)
    ]
    document = {
        "format": FORMAT,
        "base": lock.base,
        "suite": lock.suite,
        "architecture": lock.architecture,
        "include": sorted(lock.include),
        "dpkg": list(lock.dpkg),
        "packages": packages,
    }
    return canonical_json(document)


def digest(lock: BaseLock) -> str:
    return hashlib.sha256(render(lock).encode("utf-8")).hexdigest()


def parse(text: str, *, where: str) -> BaseLock:
    """A lock from its JSON text; every problem is one `where: ...` line."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise LockshipError(f"{where}: invalid JSON ({error}); {RESOLVE}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("base"), str):
        raise LockshipError(f"{where}: not a lockship base lock (format {FORMAT}); {RESOLVE}")
    try:
        if "digest" in data:
            return _registry(data, where)
        return _debian(data, where)
    except (KeyError, TypeError, ValueError) as error:
        raise LockshipError(f"{where}: malformed base lock ({error!r}); {RESOLVE}") from None


def _registry(data: dict[str, Any], where: str) -> RegistryLock:
    value = data["digest"]
    if not isinstance(value, str) or not DIGEST.match(value):
        raise LockshipError(f"{where}: digest {value!r} is not sha256:<64 hex>; {RESOLVE}")
    return RegistryLock(base=data["base"], digest=value)


def _debian(data: dict[str, Any], where: str) -> DebianLock:
    packages: list[Deb] = []
    problems: list[str] = []
    for index, item in enumerate(data["packages"]):
        deb = Deb(*(str(item[key]) for key in ("name", "version", "architecture", "sha256")))
        if not _SHA256.match(deb.sha256):
            problems.append(f"{where}: package {index} ({deb}): sha256 {deb.sha256!r} is not 64 hex digits")
        packages.append(deb)
    names = [deb.name for deb in packages]
    problems += [
        f"{where}: package {name} is listed twice" for name in sorted({n for n in names if names.count(n) > 1})
    ]
    if not packages:
        problems.append(f"{where}: no packages; {RESOLVE}")
    if problems:
        raise LockshipError(*problems)
    return DebianLock(
        base=data["base"],
        suite=str(data["suite"]),
        architecture=str(data["architecture"]),
        include=tuple(str(name) for name in data["include"]),
        dpkg=tuple(str(option) for option in data["dpkg"]),
        packages=tuple(sorted(packages)),
    )


def load(path: Path) -> BaseLock:
    """The committed lock; a missing one says how to make it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockshipError(
            f"{path}: no base lock; run `lockship base-lock` to resolve the base and commit it"
        ) from None
    return parse(text, where=str(path))


def check_recipe(lock: BaseLock, *, base: str, where: str, recipe: dict[str, object] | None = None) -> None:
    """Stop when the lock was resolved for another base or recipe than the one asked for now."""
    if lock.base != base:
        raise LockshipError(f"{where}: resolved for base {lock.base!r}, but package.base is {base!r}; {RESOLVE}")
    if isinstance(lock, DebianLock) and recipe is not None:
        current = {"include": sorted(lock.include), "dpkg": list(lock.dpkg)}
        changed = sorted(key for key, value in recipe.items() if current.get(key) != value)
        if changed:
            raise LockshipError(
                f"{where}: resolved with another {' and '.join(changed)} than this lockship's; {RESOLVE}"
            )
