"""check-lock: fail when dvc.lock is stale for what is being committed.

A stage is stale when its cmd, a dep, a param it reads or its set of outs differs from its
dvc.lock entry, or when it has no entry; an entry for a stage that no longer exists is reported too.
It needs no DVC data: a dep that another stage produces or a `.dvc` file tracks is compared with
the hash recorded for that output, not hashed from the work tree, so a clone without `dvc pull`
gets the same answer. Everything else is hashed from the work tree (pre-commit stashes unstaged
changes first, so that is what is being committed), through a stat-keyed cache in `.dvc/tmp/`.
"""

from __future__ import annotations

import argparse
import os
import posixpath
from collections.abc import Mapping, Sequence

from lockship.core.dvc.files import Stage, load_stages, read_params
from lockship.core.dvc.hashes import HashCache, IgnoreRules, Workspace
from lockship.core.dvc.lock import LockEntry, load_dvc_file, load_lock
from lockship.core.dvc.paths import refusal
from lockship.core.dvc.staleness import Project, Stale, find_stale
from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint
from lockship.core.git.repo import git_ok, ls_files, toplevel
from lockship.core.yamlio import YamlDocument

_PIPELINE = ("dvc.yaml", "dvc.lock")


def dvc_files(root: str, ignored: IgnoreRules) -> tuple[list[str], list[str]]:
    """(dvc.yaml paths, .dvc files) that git tracks or would track, minus what .dvcignore hides.

    A dvc.lock left without its dvc.yaml counts as its dvc.yaml, so that its stages show as gone.
    """
    patterns = [":(glob)**/dvc.yaml", ":(glob)**/dvc.lock", ":(glob)**/*.dvc"]
    names = [name for name in ls_files(*patterns, cwd=root, untracked=True) if os.path.isfile(os.path.join(root, name))]
    visible = [name for name in names if not ignored.covers(name, False)]
    yamls = {posixpath.join(posixpath.dirname(n), "dvc.yaml") for n in visible if posixpath.basename(n) in _PIPELINE}
    return sorted(yamls), [n for n in visible if n.endswith(".dvc")]


def load_project(root: str, ignored: IgnoreRules) -> Project:
    """Read every dvc.yaml, its dvc.lock and every .dvc file; collect all their problems before raising."""
    yamls, dvcs = dvc_files(root, ignored)
    stages: list[Stage] = []
    locks: dict[str, Mapping[str, LockEntry]] = {}
    recorded: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for dvcfile in yamls:
        lockfile = posixpath.join(posixpath.dirname(dvcfile), "dvc.lock")
        try:
            found = load_stages(root, dvcfile) if os.path.isfile(os.path.join(root, dvcfile)) else []
            if found and not os.path.isfile(os.path.join(root, lockfile)):
                raise LockshipError(f"{lockfile}: not found: run `dvc repro` (or `dvc commit`) and commit dvc.lock")
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
                recorded[full] = (str(out.get("md5", "")), f"{lockfile} (outs of '{name}')")
    for dvc in dvcs:
        try:
            recorded.update({path: (md5, dvc) for path, md5 in load_dvc_file(root, dvc).items()})
        except LockshipError as error:
            problems += error.problems
    if problems:
        raise LockshipError(*problems)
    return Project(stages, locks, recorded)


def check(root: str) -> list[Stale]:
    """check-lock on a repository: the stale problems (empty when dvc.lock is current)."""
    if not os.path.isdir(os.path.join(root, ".dvc")):
        raise LockshipError(f"{root}: not a DVC repository (no .dvc directory); run `dvc init`", exit_code=EXIT_USAGE)
    ignored = IgnoreRules.load(root)
    project = load_project(root, ignored)
    cache = HashCache.load(root)
    hashes = Workspace(root, cache, ignored, project.recorded)
    params: dict[str, YamlDocument | None] = {}

    def read(path: str) -> YamlDocument | None:
        if path not in params:
            present = os.path.isfile(os.path.join(root, path)) or refusal(root, path)  # a FIFO: refused, not missing
            params[path] = read_params(root, path) if present else None
        return params[path]

    problems = find_stale(project, hashes=hashes, read=read)
    cache.save()
    return problems


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
    args = parser.parse_args(argv)
    if not os.path.isdir(args.repo):
        raise LockshipError(f"{args.repo}: no such directory", exit_code=EXIT_USAGE)
    start = os.path.realpath(args.repo)
    lines: list[str] = []
    for root in dvc_roots(args.repo):
        inside = os.path.relpath(root, start)
        prefix = "" if inside == "." or inside.startswith("..") else inside.replace(os.sep, "/") + "/"
        try:
            lines += [prefix + str(problem) for problem in check(root)]
        except LockshipError as error:
            raise LockshipError(*(prefix + p for p in error.problems), exit_code=error.exit_code) from None
    if lines:
        raise LockshipError(*lines)
    return 0
