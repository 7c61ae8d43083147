"""Typed, line-aware reading of one params.yaml section per stage."""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from lockship.core.errors import LockshipError
from lockship.core.yamlio import KeyPath, YamlDocument, load_yaml

T = TypeVar("T")

_TYPE_NAMES: dict[type, str] = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
}


def _matches(value: object, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


@dataclass
class Section:
    """One mapping of a params file; collects every problem before raising them together."""

    document: YamlDocument
    keys: KeyPath
    values: Mapping[str, Any]
    problems: list[str] = field(default_factory=list)
    _read: set[str] = field(default_factory=set)
    _children: list[Section] = field(default_factory=list)

    @property
    def dotted(self) -> str:
        return ".".join(str(key) for key in self.keys)

    def problem(self, key: str | None, message: str) -> None:
        """Record a problem at a key of this section (or the section itself)."""
        keys = self.keys if key is None else (*self.keys, key)
        name = ".".join(str(part) for part in keys)
        self.problems.append(f"{self.document.where(keys)}: {name + ': ' if name else ''}{message}")

    def get(
        self,
        key: str,
        kind: type[T],
        default: T | None = None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: float | None = None,
        exclusive_maximum: float | None = None,
        choices: Iterable[Any] | None = None,
    ) -> T:
        """`key` as `kind`, or `default` when absent; absent without a default is a problem.

        After a problem the returned value is a placeholder: call `check()` before using any of them.
        """
        if key not in self.values and default is None:
            self.problem(None, f"missing required key '{key}'")
        elif key in self.values and self.values[key] is None:
            self.problem(key, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got null")
        value = self._value(key, kind, default, minimum, maximum, exclusive_minimum, exclusive_maximum, choices)
        return cast(T, value)

    def optional(
        self,
        key: str,
        kind: type[T],
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: float | None = None,
        choices: Iterable[Any] | None = None,
    ) -> T | None:
        """`key` as `kind`, or None when absent or null."""
        value = self._value(key, kind, None, minimum, maximum, exclusive_minimum, None, choices)
        return cast(T | None, value)

    def _value(
        self,
        key: str,
        kind: type,
        default: Any,
        minimum: float | None,
        maximum: float | None,
        exclusive_minimum: float | None,
        exclusive_maximum: float | None,
        choices: Iterable[Any] | None,
    ) -> Any:
        self._read.add(key)
        value = self.values.get(key, default)
        if value is None or key not in self.values:
            return value
        if not _matches(value, kind):
            self.problem(key, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {value!r}")
            return default
        if kind is float:
            value = float(value)
            if not math.isfinite(value):
                self.problem(key, f"expected a finite number, got {value!r}")
        allowed = None if choices is None else list(choices)
        if allowed is not None and value not in allowed:
            self.problem(key, f"{value!r} is not one of {', '.join(map(repr, allowed))}")
        bounds = (
            (minimum, operator.lt, "at least"),
            (maximum, operator.gt, "at most"),
            (exclusive_minimum, operator.le, "greater than"),
            (exclusive_maximum, operator.ge, "less than"),
        )
        for bound, fails, text in bounds:
            if bound is not None and fails(value, bound):
                self.problem(key, f"must be {text} {bound}, got {value!r}")
        return value

    def section(self, key: str) -> Section:
        """A nested mapping, sharing this section's problem list."""
        self._read.add(key)
        values = self.values.get(key)
        if not isinstance(values, Mapping):
            if key in self.values:
                self.problem(key, f"expected a mapping, got {values!r}")
            else:
                self.problem(None, f"missing required key '{key}'")
            values = {}
        child = Section(self.document, (*self.keys, key), values, self.problems)
        self._children.append(child)
        return child

    def _flag_unknown_keys(self) -> None:
        for key in sorted(set(map(str, self.values)) - self._read):
            self.problem(key, "unknown key")
        for child in self._children:
            child._flag_unknown_keys()

    def check(self) -> None:
        """Flag keys nobody read (typos such as `test_sise`), then raise every recorded problem."""
        self._flag_unknown_keys()
        if self.problems:
            raise LockshipError(*self.problems)


def load_section(path: str | os.PathLike[str], name: str) -> Section:
    """The top-level section `name` of a params file."""
    document = load_yaml(path)
    if not isinstance(document.data, Mapping):
        raise LockshipError(f"{document.where(())}: expected a mapping of sections, one per stage")
    values = document.data.get(name)
    if not isinstance(values, Mapping):
        found = "missing" if name not in document.data else f"expected a mapping, got {values!r}"
        raise LockshipError(f"{document.where((name,))}: section '{name}': {found}")
    return Section(document, (name,), values)
