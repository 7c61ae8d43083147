"""JSON files read safely, with the line of every key, and typed access to their fields with `path:line` problems.

Model directories come from outside (an image, a copied directory), so every JSON file is read as if
hostile: regular files only (a FIFO or device would hang the reader), a size cap, a nesting cap, no
NaN/Infinity or numbers beyond a float, no lone surrogates (they are not text: printing or encoding
them fails later, in the middle of a request). Each refusal is one line naming the file.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import stat
from collections.abc import Mapping
from typing import Any

from lockship.core.errors import LockshipError
from lockship.core.yamlio import KeyPath, YamlDocument, parse_yaml

MAX_JSON_BYTES = 16 * 2**20
MAX_DEPTH = 64
MAX_DIGITS = 100  # integers beyond a float's range (1e308 has 309 digits) stay well inside it
# Key lines come from a YAML parse, which costs about 4 s and 90 MB a MiB: larger files get file-level messages.
MAX_LINES_BYTES = 256 * 2**10
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def brief(value: Any, limit: int = 60) -> str:
    """repr of a value, cut short: a problem line stays one readable line whatever the file holds."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def open_regular(
    path: str | os.PathLike[str], *, name: str | None = None, limit: int | None = None
) -> io.BufferedReader:
    """Open a regular file for reading; a FIFO, device, socket or directory is refused without blocking on it.

    `limit` refuses a file larger than that many bytes. `name` is how problems name the file.
    """
    name = name or os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO would otherwise wait for a writer before fstat could refuse it.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as error:
        raise LockshipError(f"{name}: file not found") from error
    except OSError as error:
        raise LockshipError(f"{name}: cannot read: {error.strerror}") from error
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise LockshipError(f"{name}: is a directory, expected a file")
        if not stat.S_ISREG(info.st_mode):
            raise LockshipError(f"{name}: not a regular file (a FIFO, device or socket): refusing to read it")
        if limit is not None and info.st_size > limit:
            raise LockshipError(f"{name}: {info.st_size} bytes, more than the {limit} lockship reads")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_json(path: str | os.PathLike[str], *, limit: int = MAX_JSON_BYTES, max_depth: int = MAX_DEPTH) -> YamlDocument:
    """JSON values with the line of every key (JSON is YAML's subset; json parses the values exactly)."""
    name = os.fspath(path)
    with open_regular(path, name=name, limit=limit) as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:  # grown since it was opened
        raise LockshipError(f"{name}: more than the {limit} bytes lockship reads")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LockshipError(f"{name}: not UTF-8 text") from error
    return parse_json(text, name, max_depth=max_depth)


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {brief(text, 30)} is beyond a float's range")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits (more than {MAX_DIGITS})")
    return int(text)


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not a JSON value")


class _Refused(ValueError):
    """A value json would read that a model directory must not hold."""


def parse_json(text: str, name: str, *, max_depth: int = MAX_DEPTH, lines: bool = True) -> YamlDocument:
    """Parse JSON text read from `name`; any problem is one `name[:line]: ...` line (no key lines with `lines` off)."""
    try:
        data = json.loads(text, parse_float=_number, parse_int=_integer, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise LockshipError(f"{name}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from error
    except _Refused as error:
        raise LockshipError(f"{name}: {error}") from error
    except RecursionError as error:
        raise LockshipError(f"{name}: nested deeper than {max_depth} levels") from error
    surrogate = _walk(data, name, max_depth)
    key_lines = {}
    if lines and len(text) <= MAX_LINES_BYTES:
        # YAML refuses surrogate escapes, which change no line; valid JSON YAML still cannot read
        # (rare escapes) falls back to file-level messages.
        with contextlib.suppress(LockshipError):
            key_lines = parse_yaml(_SURROGATE_ESCAPE.sub(r"\\ufffd", text), name).lines
    document = YamlDocument(path=name, data=data, lines=key_lines)
    if surrogate is not None:
        keys, value = surrogate
        dotted = ".".join(str(key) for key in keys)
        raise LockshipError(
            f"{document.where(keys)}: {dotted + ': ' if dotted else ''}{brief(value)} holds a lone surrogate"
            " (a \\ud800-\\udfff escape), which is not text"
        )
    return document


def _walk(data: Any, name: str, max_depth: int) -> tuple[KeyPath, str] | None:
    """Refuse nesting deeper than `max_depth`; the first string (key or value) holding a lone surrogate, if any."""
    found: tuple[KeyPath, str] | None = None
    stack: list[tuple[KeyPath, Any]] = [((), data)]
    while stack:
        keys, value = stack.pop()
        if isinstance(value, dict | list):
            if len(keys) >= max_depth:
                raise LockshipError(f"{name}: nested deeper than {max_depth} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if found is None and isinstance(key, str) and _SURROGATE.search(key):
                    found = (keys, key)
                stack.append(((*keys, key), item))
        elif found is None and isinstance(value, str) and _SURROGATE.search(value):
            found = (keys, value)
    return found


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
            if not isinstance(value, Mapping if isinstance(key, str) else list):
                expected = "an object" if isinstance(key, str) else "a list"
                self.problem(keys[:depth], f"expected {expected}, got {brief(value)}")
                return None
            node: Any = value
            if not (key in node if isinstance(key, str) else 0 <= key < len(node)):
                self.problem(keys[: depth + 1], "missing")
                return None
            value = node[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
            self.problem(keys, f"expected {what}, got {brief(value)}")
            return None
        return value

    def check(self) -> None:
        """Raise every problem found so far as one LockshipError."""
        if self.problems:
            raise LockshipError(*self.problems)
