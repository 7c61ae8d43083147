"""DVC's `${...}` interpolation: dotted lookups in a context, dict-to-flags in `cmd`, and merging `vars`."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from lockship.core.errors import LockshipError

KEYCRE = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")


def select(data: Any, dotted: str) -> Any:
    """`a.b.0` or `a.b[0]` in nested mappings and lists; KeyError when absent."""
    value = data
    for part in dotted.replace("[", ".").replace("]", "").split("."):
        if isinstance(value, Mapping) and part.strip() in value:
            value = value[part.strip()]
        elif isinstance(value, list) and part.strip().lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(dotted)
    return value


def to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, Mapping):
            flat.update(_flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _cmd_flags(value: Mapping[str, Any]) -> str:
    """A mapping interpolated into `cmd` becomes `--key value` flags, as DVC does by default."""
    import shlex

    words: list[str] = []
    for key, item in _flatten(value).items():
        if isinstance(item, bool):
            words += [f"--{key}"] if item else []
        elif isinstance(item, list):
            words += [f"--{key}", *(shlex.quote(i) if isinstance(i, str) else str(i) for i in item)]
        else:
            words += [f"--{key}", shlex.quote(item) if isinstance(item, str) else str(item)]
    return " ".join(words)


def interpolate(value: Any, context: Mapping[str, Any], key: str = "") -> Any:
    """Resolve `${...}` in strings, recursively; a string that is one `${x}` keeps x's type."""
    if isinstance(value, Mapping):
        return {interpolate(k, context, key): interpolate(v, context, key or str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(item, context, key) for item in value]
    if not isinstance(value, str):
        return value
    matches = list(KEYCRE.finditer(value))
    if len(matches) == 1 and matches[0].group(0) == value:
        return _lookup(matches[0]["inner"], context)
    text, index = "", 0
    for match in matches:
        found = _lookup(match["inner"], context)
        if isinstance(found, Mapping) and key == "cmd":
            rendered = _cmd_flags(found)
        elif isinstance(found, Mapping | list):
            raise LockshipError(f"cannot interpolate ${{{match['inner']}}}: it is a {type(found).__name__}")
        else:
            rendered = to_str(found)
        text += value[index : match.start()] + rendered
        index = match.end()
    return (text + value[index:]).replace(r"\${", "${")


def _lookup(expression: str, context: Mapping[str, Any]) -> Any:
    try:
        return select(context, expression.strip())
    except KeyError:
        raise LockshipError(f"cannot interpolate ${{{expression}}}: '{expression.strip()}' is not defined") from None


def merge_into(context: dict[str, Any], data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, Mapping) and isinstance(context.get(key), dict):
            merge_into(context[key], value)
        else:
            context[key] = copy.deepcopy(value)
