"""The data a commit changes through DVC: outputs of staged `.dvc` files and changed `dvc.lock` out entries.

A `.dvc` file names its outputs; a staged `dvc.lock` names every out entry that differs from HEAD's
(all of them when HEAD has none). Each output is read from the work tree: a file as itself, a
directory as the files inside it, and one that is absent (a clone without `dvc pull`) is reported
as such, for the caller to note. Read without DVC, so a hook stays fast.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lockship.core.dvc.files import load_stages, parse_dvc_yaml, read_yaml
from lockship.core.dvc.paths import Refused, refusal
from lockship.core.errors import LockshipError
from lockship.core.git.repo import git_ok

LOCK_FILE = "dvc.lock"


@dataclass(frozen=True)
class Output:
    """A repo-relative DVC output and the staged file that records it."""

    path: str
    source: str
    directory: bool  # recorded as a directory (md5 ending in `.dir`)


@dataclass(frozen=True)
class TrackedData:
    files: list[tuple[str, str]]  # (data file in the work tree, the staged file that records it)
    absent: list[Output]  # outputs not in the work tree
    refused: list[str]  # outputs lockship will not read, why (one line each)


def is_dvc_metadata(path: str) -> bool:
    return path.endswith(".dvc") or posixpath.basename(path) == LOCK_FILE


def _dvc_file_outputs(root: str, relpath: str) -> list[Output]:
    data = read_yaml(root, relpath).data
    outs = data.get("outs") if isinstance(data, Mapping) else None
    folder = posixpath.dirname(relpath)
    return [
        Output(posixpath.normpath(posixpath.join(folder, out["path"])), relpath, str(out.get("md5")).endswith(".dir"))
        for out in (outs if isinstance(outs, list) else [])
        if isinstance(out, Mapping) and isinstance(out.get("path"), str) and out["path"]
    ]


def _lock_outs(data: Any) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(stage, out path as written) -> the out entry, of a dvc.lock's parsed data; other shapes give none."""
    stages = data.get("stages") if isinstance(data, Mapping) else None
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for name, body in stages.items() if isinstance(stages, Mapping) else ():
        outs = body.get("outs") if isinstance(body, Mapping) else None
        for out in outs if isinstance(outs, list) else ():
            if isinstance(out, Mapping) and isinstance(out.get("path"), str) and out["path"]:
                found[(str(name), out["path"])] = out
    return found


def _lock_outputs(root: str, relpath: str) -> list[Output]:
    """The out entries of a dvc.lock that are new or changed since HEAD."""
    current = _lock_outs(read_yaml(root, relpath).data)
    committed = git_ok("show", f"HEAD:{relpath}", cwd=root)
    before: dict[tuple[str, str], Mapping[str, Any]] = {}
    if committed is not None:
        with contextlib.suppress(LockshipError):  # an unreadable old lock: every entry counts as changed
            before = _lock_outs(parse_dvc_yaml(committed, f"HEAD:{relpath}").data)
    folder = posixpath.dirname(relpath)
    wdirs: dict[str, str] = {}
    dvc_yaml = posixpath.join(folder, "dvc.yaml")
    if os.path.isfile(os.path.join(root, dvc_yaml)):
        # A lock's out paths are relative to their stage's wdir, which only dvc.yaml knows; a broken
        # dvc.yaml is check-lock's and check-params' to report, and paths stay relative to the lock.
        with contextlib.suppress(LockshipError):
            wdirs = {stage.name: stage.wdir for stage in load_stages(root, dvc_yaml)}
    return [
        Output(
            posixpath.normpath(posixpath.join(wdirs.get(stage, folder), path)),
            relpath,
            str(out.get("md5")).endswith(".dir"),
        )
        for (stage, path), out in sorted(current.items())
        if before.get((stage, path)) != out
    ]


def tracked_data(root: str, staged: Sequence[str]) -> TrackedData:
    """The data files that the staged `.dvc` files and dvc.lock files record (see the module's docstring)."""
    outputs: list[Output] = []
    for relpath in staged:
        if relpath.endswith(".dvc"):
            outputs.extend(_dvc_file_outputs(root, relpath))
        elif posixpath.basename(relpath) == LOCK_FILE:
            outputs.extend(_lock_outputs(root, relpath))
    files: dict[str, str] = {}
    absent: list[Output] = []
    refused: list[str] = []
    for output in outputs:
        why = refusal(root, output.path)
        if why:
            refused.append(f"{Refused(output.path, why).problems[0]} (recorded in {output.source})")
            continue
        full = os.path.join(root, output.path)
        if os.path.isfile(full):
            files.setdefault(output.path, output.source)
        elif os.path.isdir(full):
            for folder, dirs, names in os.walk(full):
                dirs.sort()
                for name in sorted(names):
                    relative = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
                    files.setdefault(relative, output.source)
        else:
            absent.append(output)
    return TrackedData(list(files.items()), absent, refused)
