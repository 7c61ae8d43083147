"""dvc.lock and `.dvc` files, read without DVC.

`load_lock`/`load_dvc_file` are strict (a malformed file is an error), for the work tree being
committed; `locked_outs` is lenient, for any version in git history, where old or foreign files may stand.
Out paths in a dvc.lock are relative to the stage's `wdir`; `locked_outs` takes them relative to the
dvc.lock's folder, as needs no dvc.yaml.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from lockship.core.dvc.files import parse_dvc_yaml, read_yaml
from lockship.core.dvc.paths import is_md5
from lockship.core.errors import LockshipError
from lockship.core.yamlio import KeyPath, Yaml12Loader, YamlDocument, compose_yaml


@dataclass(frozen=True)
class LockEntry:
    cmd: Any
    deps: dict[str, dict[str, Any]]
    outs: dict[str, dict[str, Any]]
    params: dict[str, dict[str, Any]]
    line: int | None


@dataclass(frozen=True)
class LockedOut:
    """An output recorded in a dvc.lock or `.dvc` file, with the flags that keep it out of a remote."""

    path: str  # repo-relative (for dvc.lock: relative to its folder, see the module's docstring)
    md5: str | None  # ends with `.dir` for a directory; None when not recorded
    legacy: bool  # a DVC 2 hash (no `hash: md5`)
    cache: bool
    push: bool


def bad_md5s(document: YamlDocument, body: Mapping[str, Any], keys: KeyPath, label: str = "") -> list[str]:
    """One line per dep or out of `body` (a dvc.lock stage, or a `.dvc` file) whose md5 cannot be DVC's.

    Every reader of hashes calls this before a hash can name a file: a crafted `md5: ../../.env`
    would otherwise be a path into or out of a cache or remote.
    """
    problems = []
    for kind in ("deps", "outs"):
        items = body.get(kind)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, Mapping) and item.get("md5") is not None and not is_md5(item["md5"]):
                where = document.where((*keys, kind, index, "md5"))
                shown = repr(str(item["md5"])[:80])
                problems.append(
                    f"{where}: {label}{kind[:-1]} {item.get('path')}: {shown} is not a DVC md5 "
                    "(32 lowercase hex digits, `.dir` after a directory's)"
                )
    return problems


def lock_entries(document: YamlDocument) -> dict[str, LockEntry]:
    """dvc.lock (schema 2.0): stage name -> what was locked."""
    data = document.data
    if (
        isinstance(data, Mapping)
        and data
        and "schema" not in data
        and all(isinstance(v, Mapping) for v in data.values())
    ):
        # DVC 1's layout: stages at the top. DVC 3 refuses it too; DVC 2 read it. Verified with DVC 3.67:
        # a dvc.lock deleted and re-made by `dvc commit -f` from the outputs in the workspace is the 2.0 schema.
        dvcfile = posixpath.join(posixpath.dirname(document.path), "dvc.yaml")
        raise LockshipError(
            f"{document.where(())}: a DVC 1 lock file (no `schema: '2.0'`), which neither DVC 3 nor lockship "
            f"reads; with the outputs in the workspace, rewrite it in the DVC 3 format: "
            f"`rm {document.path} && dvc commit -f {dvcfile}`, then `git add {document.path}`"
        )
    if not isinstance(data, Mapping) or str(data.get("schema")) != "2.0":
        raise LockshipError(f"{document.where(('schema',))}: not a DVC 3 lock file (expected schema: '2.0')")
    stages = data.get("stages") or {}
    if not isinstance(stages, Mapping):
        raise LockshipError(f"{document.where(('stages',))}: expected a mapping of stages")
    entries: dict[str, LockEntry] = {}
    for name, entry in stages.items():
        if not isinstance(entry, Mapping):
            raise LockshipError(f"{document.where(('stages', name))}: stage '{name}': expected a mapping")
        try:
            deps = {str(d["path"]): dict(d) for d in entry.get("deps") or []}
            outs = {str(o["path"]): dict(o) for o in entry.get("outs") or []}
            params = {str(f): dict(v or {}) for f, v in (entry.get("params") or {}).items()}
        except (TypeError, KeyError, ValueError):
            raise LockshipError(f"{document.where(('stages', name))}: stage '{name}': malformed entry") from None
        entries[str(name)] = LockEntry(entry.get("cmd"), deps, outs, params, document.line(("stages", name)))
    problems = [
        line
        for name, entry in stages.items()
        for line in bad_md5s(document, entry, ("stages", name), f"stage '{name}': ")
    ]
    if problems:
        raise LockshipError(*problems)
    return entries


def load_lock(root: str, lockfile: str) -> dict[str, LockEntry]:
    """The entries of a repo-relative dvc.lock in the work tree."""
    return lock_entries(read_yaml(root, lockfile))


def dvc_file_md5s(document: YamlDocument) -> dict[str, tuple[str, str]]:
    """Repo-relative path -> (recorded md5, `path` as written) of each output of a `.dvc` file."""
    outs = document.data.get("outs") if isinstance(document.data, Mapping) else None
    if not isinstance(outs, list):
        raise LockshipError(f"{document.where(('outs',))}: expected a list of outs")
    problems = bad_md5s(document, document.data, ())
    if problems:
        raise LockshipError(*problems)
    recorded: dict[str, tuple[str, str]] = {}
    for out in outs:
        if not isinstance(out, Mapping) or "path" not in out:
            raise LockshipError(f"{document.where(('outs',))}: each out needs a path")
        key = str(out["path"])
        recorded[posixpath.normpath(posixpath.join(posixpath.dirname(document.path), key))] = (
            str(out.get("md5", "")),
            key,
        )
    return recorded


def load_dvc_file(root: str, relpath: str) -> dict[str, tuple[str, str]]:
    """`dvc_file_md5s` of a repo-relative `.dvc` file in the work tree."""
    return dvc_file_md5s(read_yaml(root, relpath))


def locked_outs(document: YamlDocument, path: str | None = None) -> list[LockedOut]:
    """Every output a dvc.lock or `.dvc` file records (`path`: its repo-relative path, default the document's).

    Lenient: entries of other shapes are passed over, so any version in git history can be read;
    but a recorded md5 that cannot be DVC's is an error, as it would name a path.
    """
    path = path or document.path
    data = document.data if isinstance(document.data, Mapping) else {}
    stages = data.get("stages")
    bodies: list[tuple[KeyPath, Any]] = (
        [((), data)]
        if path.endswith(".dvc")
        else [(("stages", name), body) for name, body in stages.items()]
        if isinstance(stages, Mapping)
        else []
    )
    problems = [
        line
        for keys, body in bodies
        if isinstance(body, Mapping)
        for line in bad_md5s(document, body, keys, f"stage '{keys[1]}': " if keys else "")
    ]
    if problems:
        raise LockshipError(*problems)
    groups: list[Any] = [body.get("outs") for _, body in bodies if isinstance(body, Mapping)]
    folder = posixpath.dirname(path)
    found: list[LockedOut] = []
    for group in groups:
        for out in group if isinstance(group, list) else ():
            if isinstance(out, Mapping) and isinstance(out.get("path"), str) and out["path"]:
                md5 = out["md5"] if isinstance(out.get("md5"), str) else None
                cache, push = out.get("cache") is not False, out.get("push") is not False
                out_path = posixpath.normpath(posixpath.join(folder, out["path"]))
                found.append(LockedOut(out_path, md5, out.get("hash") != "md5", cache, push))
    return found


def drop_entries(text: str, names: Collection[str], path: str) -> str:
    """A dvc.lock's text without the entries of the stages `names`; every other byte stays as it was.

    DVC writes each stage as a block under `stages:`, so an entry is the lines from its key to the
    next key (or the end of the block). The result is parsed again and must hold exactly the other
    entries, unchanged; anything else (a flow-style mapping, an unusual layout) is refused.
    """
    root = compose_yaml(text, path, loader=Yaml12Loader)
    pairs = root.value if isinstance(root, yaml.MappingNode) else []
    stages = next((value for key, value in pairs if key.value == "stages"), None)
    if not isinstance(stages, yaml.MappingNode) or stages.flow_style:
        raise LockshipError(f"{path}: `stages:` is not a block mapping; remove the entries by hand")
    lines = text.splitlines(keepends=True)
    starts = [key.start_mark.line for key, _ in stages.value]
    last = stages.value[-1][1].end_mark
    ends = [*starts[1:], last.line + (1 if last.column else 0)]
    doomed: set[int] = set()
    for (key, _), start, end in zip(stages.value, starts, ends, strict=True):
        if str(key.value) in names:
            if lines[start][: key.start_mark.column].strip():
                raise LockshipError(
                    f"{path}:{start + 1}: stage '{key.value}' does not start its line; remove it by hand"
                )
            doomed.update(range(start, end))
    result = "".join(line for number, line in enumerate(lines) if number not in doomed)
    before, after = parse_dvc_yaml(text, path).data, parse_dvc_yaml(result, path).data
    expected = {**before, "stages": {k: v for k, v in before["stages"].items() if str(k) not in names}}
    if after != expected:
        raise LockshipError(
            f"{path}: its layout is not DVC's; remove the entries of {', '.join(sorted(names))} by hand"
        )
    return result
