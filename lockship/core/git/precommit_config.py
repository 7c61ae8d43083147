"""Editing a `.pre-commit-config.yaml` as text, so that every other entry and comment stays as it was.

The YAML nodes give the positions: lockship's entry is added after the last item of `repos`, with
that list's indentation, or brought up to date in place; removing it cuts its lines out.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from lockship.core.errors import LockshipError
from lockship.core.yamlio import compose_yaml, parse_yaml

HOOK_IDS = ("check-lock", "check-data", "check-params", "guard-data", "gate-metrics", "check-remote")
# Where lockship is published; `--repo-url` or LOCKSHIP_REPO_URL point elsewhere (a fork, a mirror, a local clone).
DEFAULT_REPO_URL = "https://github.com/lockship/lockship"
CONFIG = ".pre-commit-config.yaml"


def repo_url() -> str:
    """lockship's URL for pre-commit: $LOCKSHIP_REPO_URL, else where it is published."""
    return os.environ.get("LOCKSHIP_REPO_URL", DEFAULT_REPO_URL)


HEADER = "# pre-commit hooks (https://pre-commit.com); lockship's were added by `lockship install`.\n"


@dataclass(frozen=True)
class RepoEntry:
    """One item of the config's `repos` list, with its nodes (for their positions in the text)."""

    node: yaml.MappingNode
    url: str
    fields: dict[str, yaml.Node]


def same_repo(url: str, ours: str) -> bool:
    def name(u: str) -> str:
        return posixpath.basename(u.rstrip("/").removesuffix(".git"))

    return url.rstrip("/").removesuffix(".git") == ours.rstrip("/").removesuffix(".git") or name(url) == name(ours)


def parse_config(text: str, path: str) -> tuple[yaml.Node | None, list[RepoEntry]]:
    """The `repos` node (None when absent or empty) and its entries; malformed YAML is a LockshipError."""
    parse_yaml(text, path)  # syntax errors, duplicate keys and alias bombs, with line and column
    # The pure-Python loader: its marks' indexes count characters, which the edits below cut at.
    root = compose_yaml(text, path, loader=yaml.SafeLoader)
    if root is None:
        return None, []
    if not isinstance(root, yaml.MappingNode):
        raise LockshipError(f"{path}:{root.start_mark.line + 1}: expected a mapping with a 'repos' list")
    repos = next((value for key, value in root.value if key.value == "repos"), None)
    if repos is None or (isinstance(repos, yaml.ScalarNode) and repos.tag.endswith(":null")):
        return repos, []
    if not isinstance(repos, yaml.SequenceNode):
        raise LockshipError(f"{path}:{repos.start_mark.line + 1}: repos: expected a list")
    entries = []
    for item in repos.value:
        if isinstance(item, yaml.MappingNode):
            fields = {str(key.value): value for key, value in item.value}
            url = fields.get("repo")
            entries.append(RepoEntry(item, str(url.value) if isinstance(url, yaml.ScalarNode) else "", fields))
    return repos, entries


def _scalar(value: str) -> str:
    plain = re.fullmatch(r"[\w./:@~+-]+", value) and parse_yaml(value, value).data == value
    return value if plain else json.dumps(value)


def end_offset(text: str, node: yaml.Node) -> int:
    """Offset just after the last line holding `node`'s content (trailing comments stay with what follows)."""
    lines = text.splitlines(keepends=True)
    last = node.start_mark.line
    for number in range(node.start_mark.line, min(node.end_mark.line, len(lines) - 1) + 1):
        line = lines[number]
        if number == node.end_mark.line and node.end_mark.column <= len(line) - len(line.lstrip()):
            break
        if line.strip() and not line.strip().startswith("#"):
            last = number
    return sum(len(line) for line in lines[: last + 1])


def _indent(text: str, node: yaml.Node) -> tuple[int, int]:
    """Columns of the dash and of the content of a block sequence item."""
    line = text.splitlines()[node.start_mark.line]
    return line.rfind("-", 0, node.start_mark.column), node.start_mark.column


def _block(url: str, rev: str, hook_ids: Sequence[str], dash: int, key: int) -> str:
    pad, hooks = " " * key, "".join(f"{' ' * (key + 2)}- id: {hook_id}\n" for hook_id in hook_ids)
    return f"{' ' * dash}-{' ' * (key - dash - 1)}repo: {_scalar(url)}\n{pad}rev: {_scalar(rev)}\n{pad}hooks:\n{hooks}"


def add_lockship(text: str | None, *, url: str, rev: str, hook_ids: Sequence[str], path: str) -> tuple[str, list[str]]:
    """The config text with lockship's entry added or brought up to date, and what changed."""
    if text is None or not text.strip():
        block = _block(url, rev, hook_ids, 2, 4)
        return f"{HEADER}repos:\n{block}", [f"{path}: created with lockship ({url} @ {rev}): {', '.join(hook_ids)}"]
    text = text if text.endswith("\n") else text + "\n"
    repos, entries = parse_config(text, path)
    ours = next((entry for entry in entries if same_repo(entry.url, url)), None)
    by_hand = f"{path}: cannot add lockship to this layout; add by hand:\n{_block(url, rev, hook_ids, 2, 4)}"
    if ours is None:
        added = [f"{path}: added lockship ({url} @ {rev}): {', '.join(hook_ids)}"]
        if repos is None or not isinstance(repos, yaml.SequenceNode) or not repos.value:
            if repos is None:
                return f"{text}repos:\n{_block(url, rev, hook_ids, 2, 4)}", added
            lines = text.splitlines(keepends=True)
            if repos.start_mark.line != repos.end_mark.line:
                raise LockshipError(by_hand)
            start = sum(len(line) for line in lines[: repos.start_mark.line])
            end = start + len(lines[repos.start_mark.line])
            return f"{text[:start]}repos:\n{_block(url, rev, hook_ids, 2, 4)}{text[end:]}", added
        if repos.flow_style:
            raise LockshipError(by_hand)
        dash, key = _indent(text, repos.value[0])
        at = end_offset(text, repos.value[-1])
        return text[:at] + _block(url, rev, hook_ids, dash, key) + text[at:], added
    edits: list[tuple[int, int, str]] = []
    changes = []
    url_node, rev_node, hooks = ours.fields.get("repo"), ours.fields.get("rev"), ours.fields.get("hooks")
    if url_node is not None and ours.url != url:
        edits.append((url_node.start_mark.index, url_node.end_mark.index, _scalar(url)))
        changes.append(f"{path}: lockship's repo changed from {ours.url} to {url}")
    if isinstance(rev_node, yaml.ScalarNode) and rev_node.value != rev:
        edits.append((rev_node.start_mark.index, rev_node.end_mark.index, _scalar(rev)))
        changes.append(f"{path}: lockship's rev changed from {rev_node.value} to {rev}")
    elif rev_node is None:
        raise LockshipError(by_hand)
    present = {
        str(field.value)
        for item in (hooks.value if isinstance(hooks, yaml.SequenceNode) else [])
        if isinstance(item, yaml.MappingNode)
        for name, field in item.value
        if name.value == "id"
    }
    missing = [hook_id for hook_id in hook_ids if hook_id not in present]
    if missing:
        if not isinstance(hooks, yaml.SequenceNode) or hooks.flow_style or not hooks.value:
            raise LockshipError(by_hand)
        dash, key = _indent(text, hooks.value[0])
        at = end_offset(text, hooks.value[-1])
        edits.append((at, at, "".join(f"{' ' * dash}-{' ' * (key - dash - 1)}id: {hook_id}\n" for hook_id in missing)))
        changes.append(f"{path}: added lockship hooks {', '.join(missing)} (kept {', '.join(sorted(present))})")
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text, changes


def _is_lockship(entry: RepoEntry, url: str) -> bool:
    hooks = entry.fields.get("hooks")
    ids = {
        str(field.value)
        for item in getattr(hooks, "value", None) or []
        if hasattr(item, "value") and isinstance(item.value, list)
        for key, field in item.value
        if key.value == "id"
    }
    return same_repo(entry.url, url) or (bool(ids) and ids <= set(HOOK_IDS) and entry.url != "local")


def remove_lockship(text: str, *, url: str, path: str) -> tuple[str | None, int, int]:
    """(new text, or None when nothing is left worth a file; entries removed; entries left)."""
    text = text if text.endswith("\n") else text + "\n"
    repos, entries = parse_config(text, path)
    ours = [entry for entry in entries if _is_lockship(entry, url)]
    left = len(entries) - len(ours)
    lines = text.splitlines(keepends=True)
    for entry in sorted(ours, key=lambda e: e.node.start_mark.index, reverse=True):
        start = sum(len(line) for line in lines[: entry.node.start_mark.line])
        text = text[:start] + text[end_offset(text, entry.node) :]
        lines = text.splitlines(keepends=True)
    if ours and not left and repos is not None:
        if text.startswith(HEADER) and all(
            not line.strip() or line.startswith(("#", "repos:")) for line in text.splitlines()
        ):
            return None, len(ours), 0
        # Lines above the first entry are untouched, so the key is where it was.
        key_line = max(n for n in range(min(repos.start_mark.line + 1, len(lines))) if lines[n].startswith("repos:"))
        lines[key_line] = "repos: []\n"
        text = "".join(lines)
    return text, len(ours), left
