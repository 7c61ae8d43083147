"""Reading DVC's files without DVC: dvc.yaml (vars, `${}`, foreach/matrix) and params files.

The rules follow DVC 3: a stage's paths are relative to its `wdir` (itself relative to its dvc.yaml);
`params.yaml` beside a dvc.yaml is loaded into the interpolation context before `vars`; foreach over
a mapping or a list of scalars names stages by key or value, over a list of lists or mappings by
index; matrix names join each value (or `name<index>` for composite values) with `-`. YAML is read
with YAML 1.2 scalars, as DVC's ruamel does, so `1e-3` is a number and `on` is a string.
dvc.lock and `.dvc` files are read by `lockship.core.dvc.lock`.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from lockship.core.dvc.interpolate import interpolate, merge_into, to_str
from lockship.core.dvc.paths import Refused, refusal
from lockship.core.errors import LockshipError
from lockship.core.yamlio import Yaml12Loader, YamlDocument, parse_yaml, read_text

PARAMS_FILE = "params.yaml"
_OUT_KINDS = ("outs", "metrics", "plots")
_TOML_PLACE = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$")


def parse_dvc_yaml(text: str, label: str) -> YamlDocument:
    """A dvc.yaml, dvc.lock or `.dvc` file's text (from the work tree or a git object) as DVC reads it.

    `label` names it in messages (`path:line:column`) and, for the work tree, is its repo-relative path.
    """
    return parse_yaml(text, label, loader=Yaml12Loader)


def read_yaml(root: str, relpath: str) -> YamlDocument:
    """A repo-relative YAML (or JSON) file of the work tree, read as DVC reads it."""
    return parse_dvc_yaml(read_text(os.path.join(root, relpath), name=relpath), relpath)


def parse_params(text: str, path: str, *, loader: type[yaml.SafeLoader] = Yaml12Loader) -> YamlDocument:
    """A params file's text by its suffix: JSON, TOML (both without lines) or YAML read with `loader`.

    Errors name `path:line:column`.
    """
    suffix = posixpath.splitext(path)[1].lower()
    if suffix == ".toml":
        import tomllib

        try:
            return YamlDocument(path, tomllib.loads(text))
        except tomllib.TOMLDecodeError as error:
            place = _TOML_PLACE.match(str(error))
            # tomllib places an unclosed `[` or string at the end of the document: name the last line written.
            last = next((n for n, line in reversed(list(enumerate(text.splitlines(), 1))) if line.strip()), 1)
            where = f"{path}:{place[2]}:{place[3]}" if place else f"{path}:{last}"
            raise LockshipError(f"{where}: invalid TOML: {place[1] if place else error}") from error
        except RecursionError:
            raise LockshipError(f"{path}: TOML nested too deep") from None
    if suffix != ".json":
        return parse_yaml(text, path, loader=loader)
    try:
        return YamlDocument(path, json.loads(text))
    except json.JSONDecodeError as error:
        raise LockshipError(f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error
    except RecursionError:
        raise LockshipError(f"{path}: JSON nested too deep") from None


def read_params(root: str, relpath: str) -> YamlDocument:
    """A params file (YAML, JSON or TOML) as a mapping, read as DVC reads it; one outside the repository
    (a dvc.yaml may name any path) raises Refused unread."""
    if relpath.endswith(".py"):
        raise LockshipError(f"{relpath}: Python params files are not supported; use YAML, JSON or TOML")
    why = refusal(root, relpath)
    if why:
        raise Refused(relpath, why)
    text = read_text(os.path.join(root, relpath), name=relpath)
    document = parse_params(text, relpath)
    if relpath.endswith(".json"):  # valid JSON is YAML 1.2: read again for the lines of its keys
        document = parse_dvc_yaml(text, relpath)
    if document.data is None:
        return YamlDocument(relpath, {}, document.lines)
    if not isinstance(document.data, dict):
        raise LockshipError(f"{document.where(())}: expected a mapping of params")
    return document


def load_vars(root: str, wdir: str, items: Any, context: dict[str, Any], where: str) -> list[str]:
    """Merge `vars` into `context`; returns the params files read (repo-relative)."""
    files: list[str] = []
    if not isinstance(items, list):
        raise LockshipError(f"{where}: vars: expected a list")
    for item in items:
        if isinstance(item, Mapping):
            merge_into(context, item)
            continue
        if not isinstance(item, str):
            raise LockshipError(f"{where}: vars: expected a file name or a mapping, got {item!r}")
        name, _, keys = item.partition(":")
        relpath = posixpath.normpath(posixpath.join(wdir, name))
        try:
            data = read_params(root, relpath).data
        except Refused as error:
            raise LockshipError(f"{where}: vars: {error.problems[0]}") from None
        if keys:
            missing = [k for k in keys.split(",") if k not in data]
            if missing:
                raise LockshipError(f"{where}: vars: '{missing[0]}' not found in {relpath}")
            data = {k: data[k] for k in keys.split(",")}
        merge_into(context, data)
        files.append(relpath)
    return files


@dataclass(frozen=True)
class Out:
    path: str  # repo-relative
    def_path: str  # as written in dvc.yaml, relative to the stage's wdir: the key in dvc.lock
    cache: bool = True


@dataclass(frozen=True)
class Params:
    path: str  # repo-relative
    def_path: str
    keys: tuple[str, ...]  # empty: the whole file


@dataclass(frozen=True)
class Stage:
    name: str  # as in dvc.lock
    dvcfile: str  # repo-relative dvc.yaml
    line: int | None
    cmd: Any
    wdir: str
    deps: tuple[Out, ...] = ()
    outs: tuple[Out, ...] = ()
    params: tuple[Params, ...] = ()
    frozen: bool = False
    always_changed: bool = False

    @property
    def address(self) -> str:
        """The name `dvc status` prints: `name`, or `sub/dvc.yaml:name` outside the root."""
        return self.name if self.dvcfile == "dvc.yaml" else f"{self.dvcfile}:{self.name}"


def _rel(wdir: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(wdir, path))


def generated(name: str, definition: Mapping[str, Any], context: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(stage name, extra context) for a plain, foreach or matrix definition."""
    if "foreach" in definition:
        items = interpolate(definition["foreach"], context, "foreach")
        if isinstance(items, Mapping):
            return [(f"{name}@{to_str(k)}", {"key": k, "item": v}) for k, v in items.items()]
        if not isinstance(items, list):
            raise LockshipError(f"stage '{name}': foreach: expected a list or a mapping")
        if any(isinstance(v, Mapping | list) for v in items):
            return [(f"{name}@{i}", {"item": v}) for i, v in enumerate(items)]
        return [(f"{name}@{to_str(v)}", {"item": v}) for v in items]
    if "matrix" in definition:
        matrix = interpolate(definition["matrix"], context, "matrix")
        if not isinstance(matrix, Mapping) or not all(isinstance(v, list) for v in matrix.values()):
            raise LockshipError(f"stage '{name}': matrix: expected a mapping of lists")
        combos: list[tuple[list[str], dict[str, Any]]] = [([], {})]
        for axis, values in matrix.items():
            combos = [
                ([*parts, f"{axis}{i}" if isinstance(v, Mapping | list) else to_str(v)], {**chosen, axis: v})
                for parts, chosen in combos
                for i, v in enumerate(values)
            ]
        return [(f"{name}@{'-'.join(parts)}", {"key": "-".join(parts), "item": chosen}) for parts, chosen in combos]
    return [(name, {})]


def load_stages(root: str, dvcfile: str) -> list[Stage]:
    """Every stage of one dvc.yaml, foreach/matrix expanded, `${}` resolved."""
    document = read_yaml(root, dvcfile)
    data = document.data or {}
    if not isinstance(data, Mapping) or not isinstance(data.get("stages", {}), Mapping):
        raise LockshipError(f"{document.where(('stages',))}: expected a mapping of stages")
    base = posixpath.dirname(dvcfile)
    context: dict[str, Any] = {}
    if os.path.lexists(os.path.join(root, base, PARAMS_FILE)):
        merge_into(context, read_params(root, _rel(base, PARAMS_FILE)).data)
    load_vars(root, base, data.get("vars", []), context, document.where(("vars",)))
    stages: list[Stage] = []
    for name, definition in (data.get("stages") or {}).items():
        where = document.where(("stages", name))
        if not isinstance(definition, Mapping):
            raise LockshipError(f"{where}: stage '{name}': expected a mapping")
        try:
            for stage_name, extra in generated(str(name), definition, context):
                body = definition.get("do", definition) if "foreach" in definition else definition
                stages.append(_stage(root, dvcfile, stage_name, body, {**context, **extra}, document))
        except LockshipError as error:
            named = [p if p.startswith("stage '") else f"stage '{name}': {p}" for p in error.problems]
            raise LockshipError(*(f"{where}: {problem}" for problem in named)) from None
    return stages


def _stage(
    root: str, dvcfile: str, name: str, body: Mapping[str, Any], context: dict[str, Any], document: YamlDocument
) -> Stage:
    base = posixpath.dirname(dvcfile)
    local = copy.deepcopy(context) if body.get("vars") else context
    wdir = _rel(base, str(interpolate(body.get("wdir", "."), local, "wdir")))
    load_vars(root, wdir, body.get("vars", []), local, f"stage '{name}'")
    spec = {k: interpolate(v, local, k) for k, v in body.items() if k not in ("vars", "matrix", "foreach", "do")}
    if not isinstance(spec.get("cmd", ""), str | list):
        raise LockshipError(f"stage '{name}': cmd: expected a string or a list")
    deps = tuple(Out(_rel(wdir, str(d)), str(d)) for d in _as_list(spec, "deps", name) if "://" not in str(d))
    outs: list[Out] = []
    for kind in _OUT_KINDS:
        for item in _as_list(spec, kind, name):
            path, options = next(iter(item.items())) if isinstance(item, Mapping) and item else (item, None)
            cache = bool(options.get("cache", True)) if isinstance(options, Mapping) else True
            outs.append(Out(_rel(wdir, str(path)), str(path), cache))
    line = document.line(("stages", name.split("@")[0]))
    return Stage(
        name=name,
        dvcfile=dvcfile,
        line=line,
        cmd=spec.get("cmd"),
        wdir=wdir,
        deps=deps,
        outs=tuple(outs),
        params=_params(wdir, _as_list(spec, "params", name)),
        frozen=bool(spec.get("frozen", False)),
        always_changed=bool(spec.get("always_changed", False)),
    )


def _as_list(spec: Mapping[str, Any], key: str, name: str) -> list[Any]:
    value = spec.get(key) or []
    if not isinstance(value, list):
        raise LockshipError(f"stage '{name}': {key}: expected a list")
    return value


def _params(wdir: str, items: list[Any]) -> tuple[Params, ...]:
    """DVC's merge of `params:` entries: plain keys read params.yaml; `file:` with no keys tracks all of it."""
    whole = {str(k) for item in items if isinstance(item, Mapping) for k, v in item.items() if not v}
    keys: dict[str, list[str]] = {}
    for item in items:
        if isinstance(item, str):
            if PARAMS_FILE not in whole:
                keys.setdefault(PARAMS_FILE, []).append(item)
            continue
        if not isinstance(item, Mapping):
            raise LockshipError(f"params: expected a key or a mapping of file to keys, got {item!r}")
        for file, names in item.items():
            listed = keys.setdefault(str(file), [])
            if str(file) not in whole:
                listed.extend(str(n) for n in names)
    return tuple(Params(_rel(wdir, f), f, tuple(dict.fromkeys(k))) for f, k in keys.items())
