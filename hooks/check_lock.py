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
import posixpath
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lockship.core.dvc.files import Out, Stage, load_stages, read_params
from lockship.core.dvc.hashes import HashCache, IgnoreRules, Workspace
from lockship.core.dvc.history import History, Source, Verdict, judge
from lockship.core.dvc.lock import LockEntry, load_dvc_file, load_lock
from lockship.core.dvc.paths import refusal
from lockship.core.dvc.staleness import Project, Stale, find_stale
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.git.repo import git_ok, ls_files, toplevel
from lockship.core.yamlio import YamlDocument

_PIPELINE = ("dvc.yaml", "dvc.lock")
CLEAN_LOCK = "lockship clean-lock"


def dvc_files(root: str, ignored: IgnoreRules) -> tuple[list[str], list[str]]:
    """(dvc.yaml paths, .dvc files) that git tracks or would track, minus what .dvcignore hides.

    A dvc.lock left without its dvc.yaml counts as its dvc.yaml, so that its stages show as gone.
    """
    patterns = [":(glob)**/dvc.yaml", ":(glob)**/dvc.lock", ":(glob)**/*.dvc"]
    names = [name for name in ls_files(*patterns, cwd=root, untracked=True) if os.path.isfile(os.path.join(root, name))]
    visible = [name for name in names if not ignored.covers(name, False)]
    yamls = {posixpath.join(posixpath.dirname(n), "dvc.yaml") for n in visible if posixpath.basename(n) in _PIPELINE}
    return sorted(yamls), [n for n in visible if n.endswith(".dvc")]


def read_project(root: str, ignored: IgnoreRules) -> tuple[Project, list[str]]:
    """Every dvc.yaml, its dvc.lock and every .dvc file; with the problems of those that cannot be read.

    A pipeline that cannot be read (no dvc.lock, a malformed file) is left out and named, so that
    every other pipeline is still checked.
    """
    yamls, dvcs = dvc_files(root, ignored)
    stages: list[Stage] = []
    locks: dict[str, Mapping[str, LockEntry]] = {}
    recorded: dict[str, tuple[str, str]] = {}
    sources: dict[str, Source] = {}
    problems: list[str] = []
    for dvcfile in yamls:
        lockfile = posixpath.join(posixpath.dirname(dvcfile), "dvc.lock")
        try:
            found = load_stages(root, dvcfile) if os.path.isfile(os.path.join(root, dvcfile)) else []
            if found and not os.path.isfile(os.path.join(root, lockfile)):
                names = " ".join(shlex.quote(stage.address) for stage in found)
                raise LockshipError(
                    f"{lockfile}: not found, so no stage of {dvcfile} is locked: "
                    f"run `dvc repro {names}`, then `git add {lockfile}`"
                )
            entries = load_lock(root, lockfile) if os.path.isfile(os.path.join(root, lockfile)) else {}
        except LockshipError as error:
            problems += error.problems
            continue
        stages += found
        locks[dvcfile] = entries
        base = posixpath.dirname(dvcfile)
        wdirs = {stage.name: stage.wdir for stage in found}
        for name, entry in entries.items():
            for path, out in entry.outs.items():
                full = posixpath.normpath(posixpath.join(wdirs.get(name, base), path))
                sources[full] = Source(lockfile, name, path)
                recorded[full] = (str(out.get("md5", "")), str(sources[full]))
    for dvc in dvcs:
        try:
            for path, (md5, key) in load_dvc_file(root, dvc).items():
                sources[path] = Source(dvc, None, key)
                recorded[path] = (md5, dvc)
        except LockshipError as error:
            problems += error.problems
    return Project(stages, locks, recorded, sources), problems


def load_project(root: str, ignored: IgnoreRules) -> Project:
    """`read_project` for those that need every pipeline: any problem is raised, all of them at once."""
    project, problems = read_project(root, ignored)
    if problems:
        raise LockshipError(*problems)
    return project


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


def dvc_roots(start: str) -> list[str]:
    """The DVC project holding `start` (looking upwards, as DVC does) or else the ones inside it,
    such as a monorepo's `dvc init --subdir` projects."""
    found = toplevel(start)
    if found is None:
        if git_ok("rev-parse", "--is-bare-repository", cwd=start) == "true":
            raise LockshipError(f"{start}: is a bare repository; run the hook in a work tree", exit_code=EXIT_USAGE)
        if git_ok("rev-parse", "--is-inside-git-dir", cwd=start) == "true":
            raise LockshipError(
                f"{start}: is inside a .git directory; run the hook in its work tree", exit_code=EXIT_USAGE
            )
        raise LockshipError(f"{start}: not a git repository", exit_code=EXIT_USAGE)
    top = os.path.realpath(found)
    current = os.path.realpath(start)
    while True:
        if os.path.isdir(os.path.join(current, ".dvc")):
            return [current]
        if current == top or os.path.dirname(current) == current:
            break
        current = os.path.dirname(current)
    configs = ls_files(":(glob)**/.dvc/config", cwd=start)
    roots = sorted({os.path.join(start, posixpath.dirname(posixpath.dirname(name))) for name in configs})
    if not roots:
        raise LockshipError(f"{start}: not a DVC repository (no .dvc directory); run `dvc init`", exit_code=EXIT_USAGE)
    return roots


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
