"""Environment fingerprints in a stage's JSON outputs, and what differs between two of them.

A stage that records the environment it ran in (library versions, BLAS kernel and threads, Python...)
does so as an `environment` object somewhere in a JSON output. Its keys are the stage's business:
every leaf is compared, and only the well-known ones get a readable label.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

ENVIRONMENT_KEY = "environment"
_LABELS = {
    ("python",): "Python",
    ("blas", "kernel"): "BLAS kernel",
    ("blas", "threads"): "BLAS threads",
    ("blas", "library"): "BLAS library",
}
_LIBRARIES = "libraries"
_ABSENT = "(absent)"


def environment_of(text: str | bytes) -> dict[tuple[str, ...], Any] | None:
    """The leaves of the first (shallowest, then key order) `environment` object in a JSON text, or None."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    level = [data]
    while level:
        for node in level:
            if isinstance(node, Mapping) and isinstance(node.get(ENVIRONMENT_KEY), Mapping):
                return _leaves(node[ENVIRONMENT_KEY], ())
        level = [v for node in level if isinstance(node, Mapping | list) for v in _children(node)]
    return None


def _children(node: Mapping[str, Any] | list[Any]) -> list[Any]:
    return list(node.values()) if isinstance(node, Mapping) else node


def _leaves(value: Any, prefix: tuple[str, ...]) -> dict[tuple[str, ...], Any]:
    if isinstance(value, Mapping) and value:
        flat: dict[tuple[str, ...], Any] = {}
        for key, item in value.items():
            flat.update(_leaves(item, (*prefix, str(key))))
        return flat
    return {prefix: value}


def label(path: tuple[str, ...]) -> str:
    """`BLAS kernel`, `numpy version`, `Python`... for known keys; the dotted path otherwise."""
    if path in _LABELS:
        return _LABELS[path]
    if len(path) == 2 and path[0] == _LIBRARIES:
        return f"{path[1]} version"
    return ".".join(path)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def environment_changes(committed: Mapping[tuple[str, ...], Any], rerun: Mapping[tuple[str, ...], Any]) -> list[str]:
    """`BLAS kernel SkylakeX -> Haswell` per differing leaf, sorted by path."""
    changes = []
    for path in sorted(set(committed) | set(rerun)):
        if path in committed and path in rerun and committed[path] == rerun[path]:
            continue
        old = _show(committed[path]) if path in committed else _ABSENT
        new = _show(rerun[path]) if path in rerun else _ABSENT
        changes.append(f"{label(path)} {old} -> {new}")
    return changes
