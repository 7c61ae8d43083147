"""`lockship base-lock`: resolve `package.base` into package/base.lock, the base image pinned by content.

For `mmdebstrap:SUITE` it bootstraps the base once from the apt mirror as it is today and locks every
installed package (name, version, architecture, .deb sha256); for a registry image it locks the
manifest digest. Commit the lock: the lock hash covers it, so a changed lock changes the image tag.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lockship.core.errors import LockshipError, entrypoint
from lockship.core.fsio import write_outputs
from lockship.packaging import baselock
from lockship.packaging.base import resolve
from lockship.packaging.baselock import BaseLock, DebianLock
from lockship.stages.package import read_settings


@dataclass(frozen=True)
class Outcome:
    lock: BaseLock
    changed: tuple[str, ...]  # one line per package (or digest) that differs from the previous lock
    written: bool


def differences(old: BaseLock | None, new: BaseLock) -> tuple[str, ...]:
    """What re-resolving changed, one line per package, for the command's report."""
    if old is None:
        return ("(no previous lock)",)
    if not isinstance(old, DebianLock) or not isinstance(new, DebianLock):
        return () if old == new else (f"{_summary(old)} -> {_summary(new)}",)
    before = {deb.name: deb for deb in old.packages}
    after = {deb.name: deb for deb in new.packages}
    lines = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        if was != now:
            lines.append(f"{name}: {was.version if was else '(none)'} -> {now.version if now else '(none)'}")
    if not lines and old != new:
        lines.append(f"recipe: {old.base} -> {new.base}")
    return tuple(lines)


def _summary(lock: BaseLock) -> str:
    return (
        f"{lock.base}, {len(lock.packages)} packages"
        if isinstance(lock, DebianLock)
        else f"{lock.base} at {lock.digest}"
    )


def base_lock(base: str, path: Path, *, check: bool = False, cache: Path | None = None) -> Outcome:
    """Resolve `base` and write its lock to `path` (unless `check`); report what changed."""
    old = None
    if path.is_file():
        try:
            old = baselock.load(path)
        except LockshipError:  # a broken lock is what re-resolving repairs
            old = None
    new = resolve(base, cache=cache)
    changed = differences(old, new) if old != new else ()
    if changed and not check:
        write_outputs({path: baselock.render(new)})
    return Outcome(lock=new, changed=changed, written=bool(changed) and not check)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship base-lock", description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file with a 'package' section")
    parser.add_argument(
        "--lock", default=baselock.BASE_LOCK, help=f"the base lock to write (default {baselock.BASE_LOCK})"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the mirror now resolves another lock; write nothing"
    )
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    base = read_settings(args.params).base
    outcome = base_lock(base, Path(args.lock), check=args.check)
    lock = outcome.lock
    what = _summary(lock)
    if not outcome.changed:
        print(f"{args.lock}: up to date ({what})")
        return 0
    verb = "would change" if args.check else "written"
    print(f"{args.lock}: {verb} ({what}); the image tag changes with it")
    for line in outcome.changed:
        print(f"  {line}")
    return 1 if args.check else 0
