"""check-params: params files parse, every param dvc.yaml reads exists, and values fit their declared rules.

Every dvc.yaml that check-lock reads is checked (nested ones and `dvc init --subdir` projects too),
each stage's params files relative to its `wdir`; a repository without any has nothing to check.
Rules live in the `lockship.params` section of params.yaml (or of the file given by `--config`);
keys are dotted param paths, prefixed by `file:` for a params file other than the config file:

    lockship:
      params:
        prepare.test_size: {type: number, min: 0.0, max: 1.0}
        train.estimator: {type: string, choices: [logistic_regression, random_forest]}
        config/extra.yaml:batch: {type: integer, min: 1, optional: true}

`type` is one of integer, number, string, boolean, list, mapping; `min`/`max` are inclusive;
`optional: true` lets the param be absent. A declared param that dvc.yaml never reads is still checked.
"""

from __future__ import annotations

import argparse
import os
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from lockship.core.dvc.files import PARAMS_FILE, parse_params, read_yaml
from lockship.core.dvc.hashes import IgnoreRules
from lockship.core.dvc.interpolate import select
from lockship.core.dvc.project import dvc_files, dvc_roots
from lockship.core.dvc.refs import ParamsRef, params_refs
from lockship.core.errors import LockshipError, entrypoint
from lockship.core.git.repo import ls_files
from lockship.core.params import Section
from lockship.core.tomllines import toml_lines
from lockship.core.yamlio import Loader, YamlDocument, load_yaml, parse_yaml, read_text

DEFAULT_PARAMS = PARAMS_FILE
TYPES: dict[str, type] = {
    "integer": int,
    "number": float,
    "string": str,
    "boolean": bool,
    "list": list,
    "mapping": dict,
}


def load_params(path: str) -> YamlDocument | None:
    """A params file parsed by its suffix (YAML, JSON, TOML), with the line of every key; None for Python.

    YAML is read as the stages read it (`lockship.core.params`), so the rules check what they will get.
    """
    suffix = posixpath.splitext(path)[1].lower()
    if suffix == ".py":
        return None
    text = read_text(path)
    document = parse_params(text, path, loader=Loader)
    if suffix == ".toml":
        return YamlDocument(path, document.data, toml_lines(text))
    if suffix == ".json":  # valid JSON is YAML: read again for the lines of its keys
        try:
            return YamlDocument(path, document.data, parse_yaml(text, path, loader=Loader).lines)
        except LockshipError:
            return document
    return document


def lookup(data: Any, key: str) -> tuple[bool, Any]:
    """(found, value) of a dotted key, as DVC selects it; list items are addressed by their index."""
    try:
        return True, select(data, key)
    except KeyError:
        return False, None


def check_refs(refs: Sequence[ParamsRef], files: Mapping[str, YamlDocument | None]) -> list[str]:
    problems = []
    for ref in refs:
        document = files.get(ref.path)
        if ref.path not in files:
            problems.append(f"{ref.where}: params file {ref.path} not found")
        elif document is not None:
            problems += [
                f"{ref.where}: param '{key}' not found in {ref.path}"
                for key in ref.keys
                if not lookup(document.data, key)[0]
            ]
    return problems


def check_rules(config: YamlDocument, files: Mapping[str, YamlDocument | None], base: str) -> list[str]:
    """Check every value that the config's `lockship.params` section declares."""
    data = config.data if isinstance(config.data, Mapping) else {}
    declared = (data.get("lockship") or {}).get("params") if isinstance(data.get("lockship"), Mapping) else None
    if declared is None:
        return []
    if not isinstance(declared, Mapping):
        return [f"{config.where(('lockship', 'params'))}: lockship.params: expected a mapping, got {declared!r}"]
    rules = Section(config, ("lockship", "params"), declared)
    problems: list[str] = []
    for name in sorted(map(str, declared)):
        rule = rules.section(name)
        kind = TYPES.get(rule.optional("type", str, choices=tuple(TYPES)) or "", object)
        minimum, maximum = rule.optional("min", float), rule.optional("max", float)
        choices, optional = rule.optional("choices", list), rule.get("optional", bool, False)
        path, _, key = name.rpartition(":") if ":" in name else (config.path, "", name)
        path = path if path == config.path else posixpath.normpath(posixpath.join(base, path))
        document = files.get(path) if path in files else _try_load(path, problems, rule.problem)
        if document is None:
            continue
        parent_key, _, leaf = key.rpartition(".")
        found, parent = lookup(document.data, parent_key) if parent_key else (True, document.data)
        if not found or not isinstance(parent, Mapping) or leaf not in parent:
            if not optional:
                where = document.where(tuple(parent_key.split(".")) if found and parent_key else ())
                problems.append(f"{where}: param '{key}' is missing (declared at {config.where(rule.keys)})")
            continue
        values = Section(document, tuple(parent_key.split(".")) if parent_key else (), parent, problems)
        if kind is not object:
            values.get(leaf, kind, minimum=minimum, maximum=maximum, choices=choices)
    try:
        rules.check()
    except LockshipError as error:
        problems[:0] = error.problems
    return problems


def _try_load(path: str, problems: list[str], report: Any) -> YamlDocument | None:
    if not os.path.exists(path):
        report(None, f"params file {path} not found")
        return None
    try:
        return load_params(path)
    except LockshipError as error:
        problems.extend(error.problems)
        return None


def check_pipelines(dvc_yamls: Sequence[str], config_path: str | None) -> list[str]:
    """Every problem with the params of these pipelines, each once, as `path[:line]: what is wrong`.

    A params file read by several pipelines is parsed, and its rules checked, once; a param that a
    pipeline reads and lacks is named at that pipeline's dvc.yaml line.
    """
    files: dict[str, YamlDocument | None] = {}
    problems: list[str] = []
    configs: dict[str, None] = {}
    for dvc_yaml in dvc_yamls:
        try:
            pipeline = read_yaml(".", dvc_yaml)
        except LockshipError as error:
            problems += error.problems
            continue
        if not isinstance(pipeline.data, Mapping):
            problems.append(f"{pipeline.where(())}: expected a mapping with a 'stages' key")
            continue
        refs = params_refs(pipeline)
        default = posixpath.join(posixpath.dirname(dvc_yaml), DEFAULT_PARAMS)
        for path in sorted({ref.path for ref in refs} | ({default} if os.path.exists(default) else set())):
            if path not in files and os.path.exists(path):
                try:
                    files[path] = load_params(path)
                except LockshipError as error:
                    problems.extend(error.problems)
                    files[path] = None
        problems += check_refs([ref for ref in refs if files.get(ref.path, True) is not None], files)
        config = config_path or (default if os.path.exists(default) else None)
        if config is not None:
            configs[config] = None
    for config in configs:
        document = files[config] if config in files else load_yaml(config)
        if document is not None:
            problems += check_rules(document, files, posixpath.dirname(config))
    return list(dict.fromkeys(problems))


def pipelines() -> list[str]:
    """Every dvc.yaml that check-lock reads (nested projects included), relative to the current directory."""
    if not ls_files(":(glob)**/dvc.yaml", untracked=True):
        return []
    here = os.path.realpath(".")
    found = []
    for root in dvc_roots("."):
        yamls, _ = dvc_files(root, IgnoreRules.load(root))
        for name in yamls:
            if os.path.isfile(os.path.join(root, name)):
                found.append(os.path.relpath(os.path.join(root, name), here).replace(os.sep, "/"))
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-check-params", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dvc-yaml", action="append", help="pipeline file(s) to check (default: every dvc.yaml, as check-lock reads)"
    )
    parser.add_argument("--config", help="file with the lockship.params rules (default: params.yaml)")
    parser.add_argument("files", nargs="*", help="ignored: the params files come from dvc.yaml")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    dvc_yamls = [posixpath.normpath(path) for path in args.dvc_yaml] if args.dvc_yaml else pipelines()
    problems = check_pipelines(dvc_yamls, args.config)
    if problems:
        raise LockshipError(*problems)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
