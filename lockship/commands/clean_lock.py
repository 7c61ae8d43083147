"""`lockship clean-lock`: remove the dvc.lock entries of stages that are no longer in their dvc.yaml.

DVC's `repro` and `commit` keep such entries, and `dvc status` ignores them; check-lock warns about
them. Each dvc.lock is rewritten without them and is otherwise left byte for byte as it was (the
entries are cut out of the text, not re-dumped); a dvc.lock whose dvc.yaml is gone, or that keeps
no entry, is deleted, as DVC reads a missing dvc.lock the same way.
"""

from __future__ import annotations

import argparse
import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from lockship.core.dvc.files import load_stages
from lockship.core.dvc.hashes import IgnoreRules
from lockship.core.dvc.lock import drop_entries, load_lock
from lockship.core.dvc.project import dvc_files, dvc_roots
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.fsio import write_outputs
from lockship.core.yamlio import read_text


@dataclass(frozen=True)
class Cleaned:
    lockfile: str  # relative to the DVC project's root
    removed: tuple[str, ...]  # stage names whose entries were removed
    deleted: bool  # the whole dvc.lock was removed


def leftovers(root: str, dvcfile: str) -> tuple[str, ...]:
    """Names of the entries in `dvcfile`'s dvc.lock whose stage it no longer declares (sorted as in the lock)."""
    lockfile = posixpath.join(posixpath.dirname(dvcfile), "dvc.lock")
    if not os.path.isfile(os.path.join(root, lockfile)):
        return ()
    declared = (
        {stage.name for stage in load_stages(root, dvcfile)} if os.path.isfile(os.path.join(root, dvcfile)) else set()
    )
    return tuple(name for name in load_lock(root, lockfile) if name not in declared)


def clean_lock(root: str, *, dry_run: bool = False) -> list[Cleaned]:
    """Remove leftover entries from every dvc.lock of the DVC project at `root`; what was (or would be) done.

    Every dvc.lock is read and checked before any is written, so a problem leaves all of them untouched.
    """
    plans: list[tuple[Cleaned, str | None]] = []  # (what, new text or None to delete)
    for dvcfile in dvc_files(root, IgnoreRules.load(root))[0]:
        names = leftovers(root, dvcfile)
        if not names:
            continue
        lockfile = posixpath.join(posixpath.dirname(dvcfile), "dvc.lock")
        if len(names) == len(load_lock(root, lockfile)):
            plans.append((Cleaned(lockfile, names, deleted=True), None))
            continue
        text = read_text(os.path.join(root, lockfile), name=lockfile)
        plans.append((Cleaned(lockfile, names, deleted=False), drop_entries(text, set(names), lockfile)))
    if not dry_run:
        write_outputs({os.path.join(root, c.lockfile): text for c, text in plans if text is not None})
        for cleaned, _ in plans:
            if cleaned.deleted:
                os.remove(os.path.join(root, cleaned.lockfile))
    return [cleaned for cleaned, _ in plans]


def describe(cleaned: Cleaned, *, dry_run: bool) -> str:
    """`dvc.lock: removed 2 entries ('b', 'c') of stages not in dvc.yaml`."""
    shown = ", ".join(f"'{name}'" for name in cleaned.removed[:5])
    more = f" and {len(cleaned.removed) - 5} more" if len(cleaned.removed) > 5 else ""
    count = "1 entry" if len(cleaned.removed) == 1 else f"{len(cleaned.removed)} entries"
    verb = "would remove" if dry_run else "removed"
    dvcfile = posixpath.join(posixpath.dirname(cleaned.lockfile), "dvc.yaml")
    if cleaned.deleted:
        return f"{cleaned.lockfile}: {verb} the file: {count} ({shown}{more}), none of a stage in {dvcfile}"
    return f"{cleaned.lockfile}: {verb} {count} ({shown}{more}) of stages not in {dvcfile}"


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lockship clean-lock", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=".", help="the git or DVC repository (default: the current directory)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be removed, change nothing")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.repo):
        raise LockshipError(f"{args.repo}: no such directory", exit_code=EXIT_USAGE)
    start = os.path.realpath(args.repo)
    changed: list[str] = []
    for root in dvc_roots(args.repo):
        inside = os.path.relpath(root, start)
        prefix = "" if inside == "." or inside.startswith("..") else inside.replace(os.sep, "/") + "/"
        for cleaned in clean_lock(root, dry_run=args.dry_run):
            print(prefix + describe(cleaned, dry_run=args.dry_run))
            changed.append(prefix + cleaned.lockfile)
    if not changed:
        print("no leftover lock entries")
    elif not args.dry_run:
        print(f"next: git add {' '.join(changed)}")
    return 0
