"""check-lock: fail when dvc.lock is stale for what is being committed.

A stage is stale when its cmd, a dep, a param it reads or its set of outs differs from its
dvc.lock entry, or when it has no entry. It needs no DVC data: a dep that another stage produces or
a `.dvc` file tracks is compared with the hash recorded for that output, not hashed from the work
tree, so a clone without `dvc pull` gets the same answer; a dep that holds such an output, or lies
inside one, is settled from git history when the output's listing is not at hand
(`lockship.core.dvc.history`). Everything else is hashed from the work tree (pre-commit stashes
unstaged changes first, so that is what is being committed), through a stat-keyed cache in `.dvc/tmp/`.
Lock entries of stages gone from dvc.yaml are a warning (`--strict`: a failure) naming the command
that removes them; a pipeline that cannot be read is reported and every other one still checked.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from lockship.core.dvc.files import Out, Stage, read_params
from lockship.core.dvc.hashes import HashCache, IgnoreRules, Workspace
from lockship.core.dvc.history import History, Verdict, judge
from lockship.core.dvc.paths import refusal
from lockship.core.dvc.project import dvc_roots, read_project
from lockship.core.dvc.staleness import Stale, find_stale
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.yamlio import YamlDocument

CLEAN_LOCK = "lockship clean-lock"


@dataclass(frozen=True)
class Findings:
    """What check-lock found in one DVC project."""

    stale: list[Stale]  # by stage, leftover lock entries included (`Stale.orphan`)
    unreadable: list[str]  # one line per pipeline or `.dvc` file that could not be checked


def check(root: str) -> Findings:
    """check-lock on one DVC project (nothing found when dvc.lock is current)."""
    if not os.path.isdir(os.path.join(root, ".dvc")):
        raise LockshipError(f"{root}: not a DVC repository (no .dvc directory); run `dvc init`", exit_code=EXIT_USAGE)
    ignored = IgnoreRules.load(root)
    project, unreadable = read_project(root, ignored)
    cache = HashCache.load(root)
    hashes = Workspace(root, cache, ignored, project.recorded)
    params: dict[str, YamlDocument | None] = {}

    def read(path: str) -> YamlDocument | None:
        if path not in params:
            present = os.path.isfile(os.path.join(root, path)) or refusal(root, path)  # a FIFO: refused, not missing
            params[path] = read_params(root, path) if present else None
        return params[path]

    history = History(root)

    def blind(stage: Stage, dep: Out, md5: str, lockfile: str) -> tuple[Verdict, str]:
        overlapping = {out: (now, project.sources[out]) for out, now in hashes.overlapping(dep.path).items()}
        return judge(
            history,
            lockfile=lockfile,
            stage=stage.name,
            dep=dep.def_path,
            dep_path=dep.path,
            md5=md5,
            overlapping=overlapping,
        )

    stale = find_stale(project, hashes=hashes, read=read, blind=blind, committed=history.committed)
    cache.save()
    return Findings(stale, unreadable)


def verdict(findings: Findings, *, strict: bool) -> tuple[list[str], list[str]]:
    """(lines that block, warnings) for what one project's check found.

    Leftover lock entries (of stages gone from dvc.yaml) do not make a stage run differently, and
    DVC's own `repro` and `commit` keep them, so by default they are one warning per dvc.lock, with
    the command that removes them; `strict` blocks on each as before. A dep that cannot be compared
    without data that is not at hand is a warning too: blocking on it would stop commits that no
    command can fix.
    """
    blocking = list(findings.unreadable)
    blocking += [str(problem) for problem in findings.stale if not (problem.orphan or problem.unknown)]
    orphans: dict[str, list[Stale]] = {}
    for problem in findings.stale:
        if problem.orphan:
            orphans.setdefault(problem.lockfile, []).append(problem)
    warnings = [f"{problem}" for problem in findings.stale if problem.unknown]
    if orphans:
        if strict:
            blocking += [str(problem) for entries in orphans.values() for problem in entries]
            blocking.append(f"to fix: `{CLEAN_LOCK}` removes the entries of stages gone from their dvc.yaml")
        else:
            warnings += [_leftover_warning(entries) for entries in orphans.values()]
    rerun = sorted({p.address for p in findings.stale if not (p.orphan or p.unchecked or p.unknown)})
    if rerun:
        lockfiles = sorted({p.lockfile for p in findings.stale if p.address in rerun})
        names = " ".join(shlex.quote(name) for name in rerun)
        blocking.append(f"to fix: `dvc repro {names}`, then `git add {' '.join(lockfiles)}`")
    return blocking, warnings


def _leftover_warning(entries: Sequence[Stale]) -> str:
    first = entries[0]
    shown = ", ".join(f"'{entry.stage}'" for entry in entries[:3])
    more = f" and {len(entries) - 3} more" if len(entries) > 3 else ""
    count = "1 entry" if len(entries) == 1 else f"{len(entries)} entries"
    return (
        f"{first.where}: warning: {count} of stages no longer in {first.dvcfile} ({shown}{more}); "
        f"`{CLEAN_LOCK}` removes them (check-lock --strict blocks on them)"
    )


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lockship check-lock", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repo", default=".", help="the git or DVC repository to check (default: the current directory)"
    )
    parser.add_argument("--strict", action="store_true", help="also block on lock entries of stages gone from dvc.yaml")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.repo):
        raise LockshipError(f"{args.repo}: no such directory", exit_code=EXIT_USAGE)
    start = os.path.realpath(args.repo)
    lines: list[str] = []
    for root in dvc_roots(args.repo):
        inside = os.path.relpath(root, start)
        nested = not (inside == "." or inside.startswith(".."))
        prefix = inside.replace(os.sep, "/") + "/" if nested else ""
        try:
            blocking, warnings = verdict(check(root), strict=args.strict)
        except LockshipError as error:
            raise LockshipError(*(prefix + p for p in error.problems), exit_code=error.exit_code) from None
        for line in warnings:
            sys.stderr.write(prefix + line + "\n")
        # Paths in `blocking` are relative to the project; the fix is run inside it.
        blocking = [line if line.startswith("to fix:") else prefix + line for line in blocking]
        lines += [line.replace("to fix:", f"to fix, in {prefix}:", 1) if nested else line for line in blocking]
    if lines:
        raise LockshipError(*lines)
    return 0
