"""What a dvc.yaml declares, read as written (no `${}` resolved): the params it reads and its outputs.

Hooks that must not fail on a stage DVC would resolve (foreach, matrix, vars) use these: a templated
params key is passed over, a templated out path is kept with its `${...}` for the caller to match.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lockship.core.dvc.files import PARAMS_FILE
from lockship.core.yamlio import YamlDocument

OUT_KINDS = ("outs", "metrics", "plots")


@dataclass(frozen=True)
class ParamsRef:
    """A params file, and the dotted keys of it that something reads (empty: the whole file)."""

    path: str
    keys: tuple[str, ...]
    where: str  # `dvc.yaml:line: stage 'name'`, for messages


@dataclass(frozen=True)
class DeclaredOut:
    """An output (or a top-level `metrics:` file) of a dvc.yaml, with its flags."""

    path: str  # repo-relative, through the stage's wdir; `${...}` left as written
    kind: str  # outs, metrics or plots
    cache: bool
    push: bool
    where: str  # `dvc.yaml:line: stage 'name'`, or `dvc.yaml:line` for the top-level `metrics:` list
    stage: str | None  # None for the top-level `metrics:` list


def _stages(data: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], tuple[str, ...]]]:
    """(name, body, key path of the body) of every stage; a foreach/matrix stage's body is its `do`."""
    stages = data.get("stages")
    for name, stage in (stages if isinstance(stages, Mapping) else {}).items():
        body = stage.get("do", stage) if isinstance(stage, Mapping) else {}
        if isinstance(body, Mapping):
            yield str(name), body, ("stages", name, *(("do",) if body is not stage else ()))


def params_refs(document: YamlDocument) -> list[ParamsRef]:
    """Every params file and key that a dvc.yaml reads: stages' `params` and top-level `vars` files."""
    folder = posixpath.dirname(document.path)
    data = document.data if isinstance(document.data, Mapping) else {}
    refs = []
    for index, entry in enumerate(data.get("vars") or []):
        if isinstance(entry, str) and "${" not in entry:
            name, _, selected = entry.partition(":")
            chosen = tuple(k for k in selected.split(",") if k)
            path = posixpath.normpath(posixpath.join(folder, name))
            refs.append(ParamsRef(path, chosen, f"{document.where(('vars', index))}: vars"))
    for stage_name, body, keys_path in _stages(data):
        if not isinstance(body.get("params"), list):
            continue
        base = posixpath.join(folder, str(body.get("wdir", ".")))
        for index, entry in enumerate(body["params"]):
            where = f"{document.where((*keys_path, 'params', index))}: stage '{stage_name}'"
            items = entry.items() if isinstance(entry, Mapping) else [(PARAMS_FILE, [entry])]
            for name, listed in items:
                keys = tuple(str(key) for key in listed or [] if "${" not in str(key))
                if "${" in str(name) or (isinstance(entry, str) and not keys):
                    continue  # templated: resolved by DVC from vars, foreach or matrix
                refs.append(ParamsRef(posixpath.normpath(posixpath.join(base, str(name))), keys, where))
    return refs


def declared_outs(document: YamlDocument, path: str | None = None) -> list[DeclaredOut]:
    """Every output of every stage (strings or one-key mappings of options), then the top-level metrics.

    `path` is the dvc.yaml's repo-relative path when the document's is a label (a file in a git object).
    """
    folder = posixpath.dirname(path or document.path)
    data = document.data if isinstance(document.data, Mapping) else {}
    found: list[DeclaredOut] = []
    for stage, body, keys in _stages(data):
        wdir = body.get("wdir", ".") if isinstance(body.get("wdir", "."), str) else "."
        for kind in OUT_KINDS:
            entries = body.get(kind)
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                name, options = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()), ("", {}))
                if not isinstance(name, str) or not name:
                    continue
                flags = options if isinstance(options, Mapping) else {}
                full = posixpath.normpath(posixpath.join(folder, wdir, name))
                where = f"{document.where((*keys, kind, index))}: stage '{stage}'"
                cache, push = flags.get("cache") is not False, flags.get("push") is not False
                found.append(DeclaredOut(full, kind, cache, push, where, stage))
    metrics = data.get("metrics")
    for index, entry in enumerate(metrics if isinstance(metrics, list) else []):
        name = entry if isinstance(entry, str) else next(iter(entry), None) if isinstance(entry, dict) else None
        if isinstance(name, str):
            full = posixpath.normpath(posixpath.join(folder, name))
            found.append(DeclaredOut(full, "metrics", True, True, document.where(("metrics", index)), None))
    return found
