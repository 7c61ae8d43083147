"""YAML loading that remembers where every key stands, so errors can name `path:line`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from lockship.core.errors import LockshipError

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML data plus the 1-based line of every mapping key and sequence item."""

    path: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, keys: KeyPath) -> int | None:
        """Line of the deepest known key on this path, or None for an empty document."""
        for end in range(len(keys), -1, -1):
            if keys[:end] in self.lines:
                return self.lines[keys[:end]]
        return None

    def where(self, keys: KeyPath) -> str:
        """`path:line` for a key path, falling back to the path alone."""
        line = self.line(keys)
        return f"{self.path}:{line}" if line else self.path


def parse_yaml(text: str, path: str) -> YamlDocument:
    """Parse one YAML document; syntax errors and duplicate keys raise LockshipError with line and column."""
    try:
        loader = Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        problem = error.problem or error.context or "invalid YAML"
        raise LockshipError(f"{where}: invalid YAML: {problem}") from error
    except yaml.YAMLError as error:
        raise LockshipError(f"{path}: invalid YAML: {error}") from error
    lines: dict[KeyPath, int] = {}
    if node is not None:
        lines[()] = node.start_mark.line + 1
        _record_lines(node, (), lines, path)
    return YamlDocument(path=path, data=data, lines=lines)


def load_yaml(path: str | os.PathLike[str]) -> YamlDocument:
    """Read and parse a YAML file; a missing or unreadable file is a LockshipError."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError as error:
        raise LockshipError(f"{name}: file not found") from error
    except IsADirectoryError as error:
        raise LockshipError(f"{name}: is a directory, expected a YAML file") from error
    except UnicodeDecodeError as error:
        raise LockshipError(f"{name}: not UTF-8 text") from error
    except OSError as error:
        raise LockshipError(f"{name}: cannot read: {error.strerror}") from error
    return parse_yaml(text, name)


def _record_lines(node: yaml.Node, keys: KeyPath, lines: dict[KeyPath, int], path: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                raise LockshipError(f"{path}:{line}:{key_node.start_mark.column + 1}: duplicate key '{key}'")
            seen.add(key)
            lines[(*keys, key)] = line
            _record_lines(value_node, (*keys, key), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*keys, index)] = item.start_mark.line + 1
            _record_lines(item, (*keys, index), lines, path)
