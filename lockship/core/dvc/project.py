"""A repository's DVC projects and pipelines as check-lock reads them, for every hook and command that walks them.

`dvc_roots` finds the projects (looking upwards as DVC does, or the `dvc init --subdir` ones inside),
`dvc_files` every dvc.yaml (a lone dvc.lock counting as its dvc.yaml) and `.dvc` file, and
`read_project` loads them all, naming each one that cannot be read rather than stopping at it.
"""

from __future__ import annotations

import os
import posixpath
import shlex
from collections.abc import Mapping

from lockship.core.dvc.files import Stage, load_stages
from lockship.core.dvc.hashes import IgnoreRules
from lockship.core.dvc.history import Source
from lockship.core.dvc.lock import LockEntry, load_dvc_file, load_lock
from lockship.core.dvc.staleness import Project
from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.git.repo import git_ok, ls_files, toplevel

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
