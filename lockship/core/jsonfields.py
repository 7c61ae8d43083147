"""JSON files read with the line of every key, and typed access to their fields with `path:line` problems."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from lockship.core.errors import LockshipError
from lockship.core.yamlio import KeyPath, YamlDocument, parse_yaml, read_text


def read_json(path: str | os.PathLike[str]) -> YamlDocument:
    """JSON values with the line of every key (JSON is YAML's subset; json parses the values exactly)."""
    name = os.fspath(path)
    text = read_text(path, name=name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise LockshipError(f"{name}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error
    try:
        lines = parse_yaml(text, name).lines
    except LockshipError:
        lines = {}  # valid JSON YAML cannot read (rare escapes): fall back to file-level messages
    return YamlDocument(path=name, data=data, lines=lines)


class Fields:
    """Typed access to a JSON object's keys, collecting one `path:line: key: problem` per problem."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.problems: list[str] = []

    def problem(self, keys: KeyPath, message: str) -> None:
        dotted = ".".join(str(key) for key in keys)
        self.problems.append(f"{self.document.where(keys)}: {dotted + ': ' if dotted else ''}{message}")

    def get(self, keys: KeyPath, kind: type | tuple[type, ...], what: str) -> Any:
        """The value at `keys` if it is a `kind` (a boolean only where `kind` names bool); else None and a problem."""
        value: Any = self.document.data
        for depth, key in enumerate(keys):
            present = (isinstance(value, Mapping) and key in value) or (
                isinstance(key, int) and isinstance(value, list) and key < len(value)
            )
            if present:
                value = value[key]
            else:
                self.problem(keys[: depth + 1], "missing")
                return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
            self.problem(keys, f"expected {what}, got {value!r}")
            return None
        return value

    def check(self) -> None:
        """Raise every problem found so far as one LockshipError."""
        if self.problems:
            raise LockshipError(*self.problems)
