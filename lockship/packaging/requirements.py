"""The image's wheels: the part of the project's hash-pinned lock that the serving runtime needs.

requirements.lock pins the whole development environment (DVC, pytest, mypy...). The image gets only
the transitive dependencies of the serving roots, each with its exact pin and hashes from the lock,
so `pip install --require-hashes` installs the same bytes the developers tested with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lockship.core.errors import LockshipError
from lockship.core.yamlio import read_text

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
# The platform the image runs on: Debian's CPython 3.11 on x86-64 Linux.
TARGET_ENVIRONMENT = {
    "implementation_name": "cpython",
    "platform_machine": "x86_64",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "os_name": "posix",
    "python_version": "3.11",
    "python_full_version": "3.11.2",
    "platform_python_implementation": "CPython",
}

Requires = Callable[[str], Sequence[str]]  # distribution name -> its Requires-Dist lines


@dataclass(frozen=True)
class Pin:
    name: str  # normalised (PEP 503)
    version: str
    text: str  # the lock's entry, hashes included, without comments


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str, path: str) -> dict[str, Pin]:
    """The pinned entries of a `uv pip compile --generate-hashes` lock, by normalised name."""
    pins: dict[str, Pin] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        start = index + 1
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _PIN.match(line)
        if not match:
            raise LockshipError(f"{path}:{start}: expected a `name==version` pin, got {line.strip()!r}")
        entry = [line.rstrip()]
        while entry[-1].endswith("\\") and index < len(lines):
            entry.append(lines[index].rstrip())
            index += 1
        name = normalise(match.group(1))
        pins[name] = Pin(name=name, version=match.group(2), text="\n".join(entry))
    return pins


def closure(roots: Iterable[str], requires: Requires) -> list[str]:
    """Normalised names of `roots` and everything they require on the image's platform, sorted."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    pending = [Requirement(root) for root in roots]
    while pending:
        requirement = pending.pop()
        name = normalise(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for line in requires(name):
            child = Requirement(line)
            extras = requirement.extras or {""}
            if child.marker is None or any(
                child.marker.evaluate({**TARGET_ENVIRONMENT, "extra": extra}) for extra in extras
            ):
                pending.append(child)
    return sorted(seen)


def installed_requires(name: str) -> Sequence[str]:
    """Requires-Dist of an installed distribution: the environment was installed from the lock."""
    from importlib import metadata

    try:
        return metadata.requires(name) or []
    except metadata.PackageNotFoundError as error:
        raise LockshipError(f"{name}: not installed in this environment; run `make setup`") from error


def runtime_lock(
    lock_path: str | Path, roots: Sequence[str], *, requires: Requires = installed_requires
) -> tuple[str, list[Pin]]:
    """The runtime subset of the lock file as requirements text (hashes kept), and its pins."""
    path = str(lock_path)
    pins = parse_lock(read_text(lock_path, name=path), path)
    names = closure(roots, requires)
    missing = [name for name in names if name not in pins]
    if missing:
        raise LockshipError(*(f"{path}: runtime requirement '{name}' is not pinned in the lock" for name in missing))
    chosen = [pins[name] for name in names]
    return "".join(pin.text + "\n" for pin in chosen), chosen
