"""YAML loading that remembers where every key stands, so errors can name `path:line`.

`Loader` (the default) reads YAML 1.1 as PyYAML does; `Yaml12Loader` reads YAML 1.2 core-schema
scalars as DVC's ruamel does, so `1e-3` is a number and `on` is a string.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from lockship.core.errors import LockshipError
from lockship.core.fsio import NotRegularFile, open_regular
from lockship.core.yamlcompose import compose

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]


class Yaml12Loader(Loader):  # type: ignore[misc,valid-type]
    """Safe loader with YAML 1.2 core-schema scalars (DVC reads with ruamel's 1.2 resolver)."""


Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
):
    Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    return float(text.replace(".inf", "inf").replace(".nan", "nan"))


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


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


def parse_yaml(text: str, path: str, *, loader: type[yaml.SafeLoader] = Loader) -> YamlDocument:
    """Parse one YAML document; syntax errors, duplicate keys and alias bombs raise LockshipError with the line."""
    try:
        reader = loader(text)
        try:
            node = compose(reader, path, text)
            data = reader.construct_document(node) if node is not None else None
        finally:
            reader.dispose()
    except yaml.MarkedYAMLError as error:
        raise _marked(error, path) from error
    except (yaml.YAMLError, ValueError) as error:  # ValueError: a 1.2 number that int()/float() refuse
        raise LockshipError(f"{path}: invalid YAML: {error}") from error
    lines: dict[KeyPath, int] = {}
    if node is not None:
        lines[()] = node.start_mark.line + 1
        _record_lines(node, (), lines)
    return YamlDocument(path=path, data=data, lines=lines)


def compose_yaml(text: str, path: str, *, loader: type[yaml.SafeLoader] = Loader) -> yaml.Node | None:
    """The node graph of one YAML document (None when empty), with the limits and errors of `parse_yaml`."""
    try:
        reader = loader(text)
        try:
            return compose(reader, path, text)
        finally:
            reader.dispose()
    except yaml.MarkedYAMLError as error:
        raise _marked(error, path) from error
    except yaml.YAMLError as error:
        raise LockshipError(f"{path}: invalid YAML: {error}") from error


def _marked(error: yaml.MarkedYAMLError, path: str) -> LockshipError:
    mark = error.problem_mark or error.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
    return LockshipError(f"{where}: invalid YAML: {error.problem or error.context or 'invalid YAML'}")


def load_yaml(path: str | os.PathLike[str], *, loader: type[yaml.SafeLoader] = Loader) -> YamlDocument:
    """Read and parse a YAML file; a missing or unreadable file is a LockshipError."""
    name = os.fspath(path)
    return parse_yaml(read_text(name), name, loader=loader)


def read_text(path: str | os.PathLike[str], *, name: str | None = None) -> str:
    """A UTF-8 text file's content; a missing, unreadable or non-regular file is a LockshipError naming `name`
    (default: path)."""
    name = name or os.fspath(path)
    try:
        with io.TextIOWrapper(open_regular(path), encoding="utf-8") as handle:
            return handle.read()
    except NotRegularFile as error:
        raise LockshipError(f"{name}: {error.strerror}; lockship reads only regular files") from error
    except FileNotFoundError as error:
        raise LockshipError(f"{name}: file not found") from error
    except IsADirectoryError as error:
        raise LockshipError(f"{name}: is a directory, expected a file") from error
    except UnicodeDecodeError as error:
        raise LockshipError(f"{name}: not UTF-8 text") from error
    except OSError as error:
        raise LockshipError(f"{name}: cannot read: {error.strerror}") from error


def _record_lines(node: yaml.Node, keys: KeyPath, lines: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[(*keys, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*keys, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*keys, index)] = item.start_mark.line + 1
            _record_lines(item, (*keys, index), lines)
