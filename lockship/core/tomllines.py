"""The line of every key of a TOML file, which `tomllib` does not report, so messages can name `path:line`.

A light scan, not a parser (the file has already parsed): table headers (`[a.b]`, `[[a]]` whose
tables are numbered as list items), `key = ...` and dotted `a.b = ...` lines; text inside multi-line
strings is skipped. Keys inside inline tables keep the line of the key that holds them.
"""

from __future__ import annotations

import re

from lockship.core.yamlio import KeyPath

_PART = r"""[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'"""
_DOTTED = rf"(?:{_PART})(?:\s*\.\s*(?:{_PART}))*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(part[1:-1] if part[0] in "\"'" else part for part in re.findall(_PART, dotted))


def toml_lines(text: str) -> dict[KeyPath, int]:
    """1-based line of each key path, with `[[array]]` tables addressed by their index."""
    lines: dict[KeyPath, int] = {}
    arrays: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if in_string:
            if line.count(in_string) % 2:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            names = _parts(header[2])
            if header[1] == "[[":
                arrays[names] = arrays.get(names, -1) + 1
                table = (*names, arrays[names])
            else:
                table = names
            for end in range(1, len(table) + 1):
                lines.setdefault(table[:end], number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            keys = (*table, *_parts(assign[1]))
            for end in range(len(table) + 1, len(keys) + 1):
                lines.setdefault(keys[:end], number)
        for quotes in ('"""', "'''"):
            if line.count(quotes) % 2:
                in_string = quotes
                break
    return lines
