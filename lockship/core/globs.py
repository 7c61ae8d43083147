"""gitignore-style globs on repo-relative POSIX paths: `*` stays within a folder, `**` spans folders."""

from __future__ import annotations

import functools
import posixpath
import re


@functools.cache
def glob_regex(pattern: str) -> str:
    """The regex (unanchored) of a glob; `[...]` classes as in gitignore, `[!...]` negated."""
    parts, index = [], 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        elif pattern[index] == "[" and "]" in pattern[index + 2 :]:
            end = pattern.index("]", index + 2)
            parts.append("[" + pattern[index + 1 : end].replace("!", "^", 1).replace("\\", "\\\\") + "]")
            index = end + 1
        else:
            parts.append(re.escape(pattern[index]))
            index += 1
    return "".join(parts)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(glob_regex(pattern) + r"\Z")


def glob_match(path: str, pattern: str) -> bool:
    """Match a repo-relative POSIX path; a pattern without `/` matches the file name alone (as in .gitignore)."""
    pattern = pattern.removeprefix("./")
    target = path if "/" in pattern else posixpath.basename(path)
    return _compiled(pattern).match(target) is not None
