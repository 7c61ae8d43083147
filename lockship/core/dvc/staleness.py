"""Why dvc.lock is stale: each stage of dvc.yaml against its lock entry, from hashes and params at hand.

A stage is stale when its cmd, a dep, a param it reads or its set of outs differs from its
dvc.lock entry, or when it has no entry; an entry for a stage that no longer exists is reported too.
Params compare by Python equality, as in DVC; a frozen stage's deps and params are not checked, and an
`always_changed` stage is never reported (DVC reports it always, which no commit can fix).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lockship.core.dvc.files import Out, Stage
from lockship.core.dvc.hashes import MISSING, UNKNOWN, Workspace, describe_tree_change
from lockship.core.dvc.history import Source, Verdict
from lockship.core.dvc.interpolate import select
from lockship.core.dvc.lock import LockEntry
from lockship.core.dvc.paths import Refused
from lockship.core.yamlio import YamlDocument


@dataclass(frozen=True)
class Stale:
    """One reason a stage's lock entry does not match: `where: stage 'x' is stale: reason`."""

    where: str
    stage: str
    address: str  # as `dvc status` names the stage: `name` or `sub/dvc.yaml:name`
    reason: str
    lockfile: str  # the dvc.lock that holds (or lacks) the stage's entry
    orphan: bool = False  # a lock entry whose stage no longer exists
    unchecked: bool = False  # a dep or out that must not be read (see `lockship.core.dvc.paths.refusal`)
    unknown: bool = False  # a dep that cannot be compared without data that is not at hand: a note

    @property
    def dvcfile(self) -> str:
        return posixpath.join(posixpath.dirname(self.lockfile), "dvc.yaml")

    def __str__(self) -> str:
        if self.orphan:
            return f"{self.where}: stage '{self.stage}' {self.reason}"
        if self.unchecked or self.unknown:
            return f"{self.where}: stage '{self.stage}': {self.reason}"
        return f"{self.where}: stage '{self.stage}' is stale: {self.reason}"


@dataclass(frozen=True)
class Project:
    """Everything check-lock reads: stages, their lock entries and the hashes recorded for outputs."""

    stages: list[Stage]
    locks: Mapping[str, Mapping[str, LockEntry]]  # dvc.yaml path -> stage name -> entry
    recorded: Mapping[str, tuple[str, str]]  # output path -> (md5, where it is recorded)
    sources: Mapping[str, Source] = field(default_factory=dict)  # output path -> where it is recorded


# (stage, dep, its locked md5, lockfile) -> whether a dep whose outputs are not at hand changed, and why
BlindJudge = Callable[[Stage, Out, str, str], tuple[Verdict, str]]
Committed = Callable[[str], bool]  # whether git's HEAD holds a path


def _short(old: str, new: str) -> str:
    """`md5 73fba4fd -> 0c1e2a44`: 8 hex digits, or as many as it takes for the two to differ."""
    width = max(8, len(posixpath.commonprefix([old, new])) + 1)
    return f"md5 {old[:width]} -> {new[:width]}"


_ABSENT = object()


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _leaves(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_leaves(item, f"{prefix}.{key}"))
        return flat
    return {prefix: value}


def param_changes(
    path: str, keys: Sequence[str], locked: Mapping[str, Any], current: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(dotted key, `param x changed: a -> b`) per differing leaf; Python equality decides, as in DVC."""
    changes: list[tuple[str, str]] = []
    for key in keys or list(dict.fromkeys([*current, *locked])):
        try:
            now = select(current, key) if keys else current[key]
        except KeyError:
            if key in locked:
                changes.append((key, f"param {key} removed from {path} (locked: {_show(locked[key])})"))
            continue
        if key not in locked:
            changes.append((key, f"param {key} is new: {_show(now)}"))
        elif now != locked[key] and not (isinstance(now, tuple) and list(now) == locked[key]):
            old_leaves, new_leaves = _leaves(locked[key], key), _leaves(now, key)
            for name in dict.fromkeys([*old_leaves, *new_leaves]):
                before, after = old_leaves.get(name, _ABSENT), new_leaves.get(name, _ABSENT)
                if before != after:
                    changes.append((name, f"param {name} changed: {_show(before)} -> {_show(after)}"))
    return changes


ParamsReader = Callable[[str], YamlDocument | None]


def stage_problems(
    stage: Stage,
    entry: LockEntry,
    *,
    hashes: Workspace,
    read: ParamsReader,
    blind: BlindJudge,
    committed: Committed,
    lockfile: str,
) -> list[Stale]:
    """Why one stage is stale (empty when it is not), with notes on what could not be compared."""
    problems: list[tuple[str, str]] = []  # (where, reason)
    refused: list[str] = []
    unknown: list[str] = []
    if entry.cmd != stage.cmd:
        problems.append((lockfile, "cmd changed"))
    if not stage.frozen:
        found = _deps_problems(stage, entry, hashes, lockfile, refused, (blind, unknown))
        problems += [(lockfile, reason) for reason in found]
        problems += _params_problems(stage, entry, read, lockfile, refused)
    declared = {out.def_path for out in stage.outs}
    for out in stage.outs:
        locked = entry.outs.get(out.def_path)
        if locked is None:
            problems.append((lockfile, f"out {out.path} is not in {lockfile}"))
        elif not out.cache:  # committed to git beside the lock, so it must match it
            try:
                old, (new, _) = str(locked.get("md5")), hashes.work_tree(out.path)
            except Refused as error:
                refused.append(_refused("out", out.path, error))
                continue
            # Absent and never committed (git-ignored, say): a clone cannot have it, and no commit changes it.
            if new == MISSING and not committed(out.path):
                continue
            if new not in (UNKNOWN, old):
                problems.append((lockfile, f"out {out.path} changed ({_short(old, new)})"))
    for path in sorted(entry.outs.keys() - declared):
        gone = posixpath.normpath(posixpath.join(stage.wdir, path))
        problems.append((lockfile, f"out {gone} is no longer in {stage.dvcfile}"))
    where = f"{stage.dvcfile}:{stage.line}" if stage.line else stage.dvcfile
    return [
        *(Stale(where, stage.name, stage.address, reason, lockfile, unchecked=True) for reason in refused),
        *(Stale(lockfile, stage.name, stage.address, reason, lockfile, unknown=True) for reason in unknown),
        *(Stale(where, stage.name, stage.address, reason, lockfile) for where, reason in problems),
    ]


def _refused(kind: str, path: str, error: Refused) -> str:
    what = f"{kind} {path} {error.why}" if error.path == path else f"{kind} {path}: {error.path} {error.why}"
    return f"{what}; check-lock reads only regular files and directories inside the repository"


def _deps_problems(
    stage: Stage,
    entry: LockEntry,
    hashes: Workspace,
    lockfile: str,
    refused: list[str],
    blind: tuple[BlindJudge, list[str]],
) -> list[str]:
    problems: list[str] = []
    for dep in stage.deps:
        locked = entry.deps.get(dep.def_path)
        if locked is None:
            problems.append(f"dep {dep.path} is not in {lockfile}")
            continue
        old = str(locked.get("md5", MISSING))
        try:
            new, origin = hashes.md5(dep.path)
        except Refused as error:
            refused.append(_refused("dep", dep.path, error))
            continue
        if new == UNKNOWN:
            judge, unknown = blind
            verdict, why = judge(stage, dep, old, lockfile)
            if verdict == "changed":
                problems.append(f"dep {dep.path} changed ({why})")
            elif verdict == "unknown":
                unknown.append(f"dep {dep.path} not checked: {why}; `dvc pull` its outputs to have it checked")
            continue
        if new == old:
            continue
        how = _short(old, new)
        listing_old, listing_new = hashes.cache.listing(old), hashes.cache.listing(new)
        if listing_old is not None and listing_new is not None:
            how = describe_tree_change(listing_old, listing_new)
        elif new == MISSING:
            how = "missing"
        where = "" if origin == "work tree" else f", as recorded in {origin}"
        problems.append(f"dep {dep.path} changed ({how}{where})")
    return problems


def _params_problems(
    stage: Stage, entry: LockEntry, read: ParamsReader, lockfile: str, refused: list[str]
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for params in stage.params:
        try:
            document = read(params.path)
        except Refused as error:
            refused.append(_refused("params file", params.path, error))
            continue
        if document is None:
            problems.append((params.path, "params file is missing"))
            continue
        locked = entry.params.get(params.def_path)
        if locked is None:
            problems.append((lockfile, f"params from {params.path} are not in {lockfile}"))
            continue
        for key, change in param_changes(params.path, params.keys, locked, document.data):
            problems.append((_where(document, key), change))
    return problems


def _where(document: YamlDocument, dotted: str) -> str:
    keys: tuple[str | int, ...] = tuple(int(k) if k.isdigit() else k for k in dotted.split("."))
    return document.where(keys) if document.lines else document.path


def find_stale(
    project: Project, *, hashes: Workspace, read: ParamsReader, blind: BlindJudge, committed: Committed
) -> list[Stale]:
    """Every reason dvc.lock is stale, by dvc.yaml and stage; empty when it is up to date."""
    problems: list[Stale] = []
    for dvcfile, entries in sorted(project.locks.items()):
        lockfile = posixpath.join(posixpath.dirname(dvcfile), "dvc.lock")
        stages = [stage for stage in project.stages if stage.dvcfile == dvcfile]
        for stage in stages:
            entry = entries.get(stage.name)
            if entry is None:
                where = f"{dvcfile}:{stage.line}" if stage.line else dvcfile
                problems.append(Stale(where, stage.name, stage.address, f"it has no entry in {lockfile}", lockfile))
            elif not stage.always_changed:
                problems += stage_problems(
                    stage, entry, hashes=hashes, read=read, blind=blind, committed=committed, lockfile=lockfile
                )
        names = {stage.name for stage in stages}
        for name, entry in entries.items():
            if name not in names:
                where = f"{lockfile}:{entry.line}" if entry.line else lockfile
                reason = f"is in {lockfile} but no longer in {dvcfile}"
                address = name if dvcfile == "dvc.yaml" else f"{dvcfile}:{name}"
                problems.append(Stale(where, name, address, reason, lockfile, orphan=True))
    return problems
