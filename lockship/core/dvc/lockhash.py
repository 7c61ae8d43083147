"""The hash of the locked pipeline behind one stage: what the package stage tags its image with.

It covers, from `dvc.lock`, the deps, params and outs of every stage the target stage depends on
(transitively), plus the target stage's own inputs that no stage produces (the serving and packaging
code, hashed from the work tree) and its params (read from the params file, as DVC will lock them).
Everything goes through canonical JSON, so the hash depends on no machine, path, clock or YAML layout.
dvc.yaml, dvc.lock and params files are read as the git hooks read them (`dvcfiles`, `dvclock`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from lockship.core.dvc.files import Stage, load_stages, read_params, read_yaml
from lockship.core.dvc.interpolate import select
from lockship.core.dvc.lock import lock_entries
from lockship.core.errors import LockshipError
from lockship.core.fsio import file_digest

TAG_LENGTH = 12
DVC_YAML = "dvc.yaml"
DVC_LOCK = "dvc.lock"
# Derived from the content hash, and DVC writes them differently across versions.
_DERIVED_KEYS = frozenset({"size", "nfiles"})
_SKIPPED_PARTS = frozenset({"__pycache__"})


@dataclass(frozen=True)
class StageInputs:
    """What a stage declares in dvc.yaml: its dependency paths and params (file -> dotted keys)."""

    deps: tuple[str, ...]
    params: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class LockHash:
    digest: str
    upstream: tuple[str, ...]

    @property
    def tag(self) -> str:
        return self.digest[:TAG_LENGTH]


def _normalise(path: str) -> str:
    return str(PurePosixPath(path.replace("\\", "/")))


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def upstream_stages(lock: Mapping[str, Any], deps: Iterable[str]) -> list[str]:
    """Names of the locked stages whose outs feed `deps`, directly or through other stages, sorted."""
    outs = {name: [_normalise(out["path"]) for out in entry.get("outs", [])] for name, entry in lock.items()}
    found: set[str] = set()
    pending = [_normalise(dep) for dep in deps]
    while pending:
        dep = pending.pop()
        for name, paths in outs.items():
            if name not in found and any(_overlaps(dep, out) for out in paths):
                found.add(name)
                pending.extend(_normalise(item["path"]) for item in lock[name].get("deps", []))
    return sorted(found)


def _entries(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    cleaned = [
        {key: value for key, value in item.items() if key not in _DERIVED_KEYS} | {"path": _normalise(item["path"])}
        for item in items
    ]
    return sorted(cleaned, key=lambda item: str(item["path"]))


def compute(
    lock: Mapping[str, Any],
    *,
    inputs: StageInputs,
    params: Mapping[str, Any],
    sources: Mapping[str, str],
) -> LockHash:
    """The lock hash from plain data: `lock` is dvc.lock's `stages` mapping, `params` the target stage's
    param values (file -> key -> value), `sources` the sha256 of each of its deps no stage produces."""
    names = upstream_stages(lock, inputs.deps)
    stages = {
        name: {
            "deps": _entries(lock[name].get("deps", [])),
            "params": lock[name].get("params", {}),
            "outs": _entries(lock[name].get("outs", [])),
        }
        for name in names
    }
    document = {"stages": stages, "params": params, "sources": dict(sorted(sources.items()))}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return LockHash(digest=hashlib.sha256(text.encode("utf-8")).hexdigest(), upstream=tuple(names))


def source_digests(root: Path, paths: Iterable[str]) -> dict[str, str]:
    """sha256 of every file under each path (relative POSIX names), skipping bytecode caches."""
    digests: dict[str, str] = {}
    for path in paths:
        start = root / path
        if not start.exists():
            raise LockshipError(f"{path}: dependency not found")
        files = [start] if start.is_file() else sorted(p for p in start.rglob("*") if p.is_file())
        for file in files:
            relative = file.relative_to(root)
            if _SKIPPED_PARTS & set(relative.parts) or file.suffix == ".pyc":
                continue
            digests[relative.as_posix()] = file_digest(file, "sha256")
    return digests


def _target(root: str, stages: Sequence[Stage], name: str, *, shown: str) -> Stage:
    """The stage called `name` of the root dvc.yaml (`shown`: that file's path as the caller names it)."""
    for stage in stages:
        if stage.name == name and stage.dvcfile == DVC_YAML:
            return stage
    where = read_yaml(root, DVC_YAML).where(("stages",))
    raise LockshipError(f"{where}: no stage '{name}' in {shown}", exit_code=2)


def _param_values(root: str, stage: Stage) -> dict[str, dict[str, Any]]:
    """The values of the stage's params, per file as dvc.yaml names it, as DVC records them in dvc.lock."""
    values: dict[str, dict[str, Any]] = {}
    for params in sorted(stage.params, key=lambda item: item.def_path):
        data = read_params(root, params.path).data
        if not params.keys:  # the whole file
            values[params.def_path] = dict(data)
            continue
        picked: dict[str, Any] = {}
        for key in params.keys:
            try:
                picked[key] = select(data, key)
            except KeyError:
                raise LockshipError(f"{params.path}: missing param '{key}'") from None
        values[params.def_path] = picked
    return values


def _locked_stages(root: str) -> dict[str, dict[str, Any]]:
    """dvc.lock's stages as DVC writes them: name -> deps, params and outs (lists of entries)."""
    document = read_yaml(root, DVC_LOCK)
    data = document.data
    if not isinstance(data, Mapping) or not isinstance(data.get("stages"), Mapping):
        raise LockshipError(f"{DVC_LOCK}: no 'stages' mapping; run `dvc repro` first")
    return {
        name: {"deps": list(entry.deps.values()), "params": entry.params, "outs": list(entry.outs.values())}
        for name, entry in lock_entries(document).items()
    }


@contextlib.contextmanager
def _named_under(base: Path) -> Iterator[None]:
    """The core readers name files relative to the project; name them under `base` as the caller gave it."""
    try:
        yield
    except LockshipError as error:
        raise LockshipError(*(_under(base, line) for line in error.problems), exit_code=error.exit_code) from None


def _under(base: Path, relative: str) -> str:
    return relative if base == Path(".") else f"{base}{os.sep}{relative}"


def lock_hash(root: str | os.PathLike[str], *, stage: str = "package") -> LockHash:
    """The lock hash of `stage` in the DVC project at `root`, from its dvc.yaml, dvc.lock and params."""
    base = Path(root)
    with _named_under(base):
        stages = load_stages(str(base), DVC_YAML)
        target = _target(str(base), stages, stage, shown=_under(base, DVC_YAML))
        deps = [dep.path for dep in target.deps]
        lock = {name: entry for name, entry in _locked_stages(str(base)).items() if name != stage}
        declared = {out.path: other.name for other in stages for out in other.outs}
        produced = [dep for dep in deps if any(_overlaps(dep, out) for out in declared)]
        writers = {name for dep in produced for out, name in declared.items() if _overlaps(dep, out)}
        unlocked = sorted(writers - set(lock))
        if unlocked:
            raise LockshipError(
                *(f"{DVC_LOCK}: stage '{name}' has not run; run `dvc repro` first" for name in unlocked)
            )
        params = _param_values(str(base), target)
    sources = source_digests(base, [dep for dep in deps if dep not in produced])
    inputs = StageInputs(deps=tuple(deps), params={p.def_path: p.keys for p in target.params})
    return compute(lock, inputs=inputs, params=params, sources=sources)
