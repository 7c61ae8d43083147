"""Composing a YAML document's nodes without recursion, with caps on what aliases expand to and on depth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError

from lockship.core.errors import LockshipError

# An alias stands for a whole subtree, so a few lines can stand for billions of nodes ("billion laughs"),
# and everything that walks the data (line numbers, interpolation, comparison) would walk them all.
# The nodes that aliases add, and the nesting depth counted through them, are capped instead.
MAX_ALIAS_NODES = 100_000
MAX_DEPTH = 100


def compose(reader: yaml.SafeLoader, path: str, text: str) -> yaml.Node | None:
    """PyYAML's composer without recursion, counting what aliases expand to (see MAX_ALIAS_NODES).

    Nodes, tags and errors are PyYAML's; a recursive alias, which it would accept, is an error.
    `text` is what `reader` reads: when it can hold neither an alias nor MAX_DEPTH levels (as nearly
    every dvc.lock), the loader's own composer (libyaml's, three times as fast) does the work.
    """
    if _plain(text):
        node: yaml.Node | None = reader.get_single_node()
        if node is not None:
            _refuse_duplicate_keys(node, path)
        return node
    events: Any = reader  # PyYAML's parser and resolver methods are untyped
    events.get_event()  # stream start
    if events.check_event(yaml.StreamEndEvent):
        return None
    events.get_event()  # document start
    anchors: dict[str, _Done | None] = {}  # None while the anchored node is still open
    stack: list[_Open] = []
    added = 0
    while True:
        event: Any = events.get_event()
        start: Any = event.start_mark  # the C parser's marks are of another class than the stubs say
        end: Any = event.end_mark
        where = f"{path}:{start.line + 1}"
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", start)
            done = anchors[event.anchor]
            if done is None:
                raise LockshipError(f"{where}: YAML alias *{event.anchor} is inside its own anchor (recursive)")
            added += done.size
            if added > MAX_ALIAS_NODES:
                raise LockshipError(f"{where}: YAML aliases expand too far (over {MAX_ALIAS_NODES} nodes)")
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            closed = stack.pop()
            closed.node.end_mark = end
            done = _Done(closed.node, closed.size, closed.height)
            if closed.anchor is not None:
                anchors[closed.anchor] = done
        else:
            if event.anchor is not None and event.anchor in anchors:
                first = anchors[event.anchor]
                raise ComposerError(
                    f"found duplicate anchor {event.anchor!r}; first occurrence",
                    first.node.start_mark if first else None,
                    "second occurrence",
                    start,
                )
            if isinstance(event, yaml.ScalarEvent):
                tag = _tag(events, event, yaml.ScalarNode, event.value)
                done = _Done(yaml.ScalarNode(tag, event.value, start, end, style=event.style))
                if event.anchor is not None:
                    anchors[event.anchor] = done
            else:
                if len(stack) >= MAX_DEPTH:
                    raise LockshipError(f"{where}: YAML nested too deep (over {MAX_DEPTH} levels)")
                kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
                node = kind(_tag(events, event, kind, None), [], start, None, flow_style=event.flow_style)
                stack.append(_Open(node, event.anchor))
                if event.anchor is not None:
                    anchors[event.anchor] = None
                continue
        if not stack:
            break
        if len(stack) + done.height > MAX_DEPTH:
            raise LockshipError(f"{where}: YAML nested too deep (over {MAX_DEPTH} levels)")
        parent = stack[-1]
        if isinstance(parent.node, yaml.MappingNode) and parent.key is None:
            # Here, before merge keys (`<<`) add their pairs, so that a key may override a merged one.
            key = str(done.node.value)
            if key in parent.keys and key != "<<":
                raise LockshipError(f"{where}:{start.column + 1}: duplicate key '{key}'")
            parent.keys.add(key)
        parent.add(done)
    events.get_event()  # document end
    if not events.check_event(yaml.StreamEndEvent):
        second = events.get_event().start_mark
        raise ComposerError(
            "expected a single document in the stream", done.node.start_mark, "but found another document", second
        )
    return done.node


def _plain(text: str) -> bool:
    """No anchor (so no alias can expand) and fewer than MAX_DEPTH levels possible.

    A line's block nodes nest no deeper than its indentation and `- `/`? ` prefix plus two (an entry's
    mapping and its value); flow collections add at most one level per bracket in the whole text.
    """
    if "&" in text:
        return False
    brackets = text.count("[") + text.count("{")
    if brackets >= MAX_DEPTH:
        return False
    deepest = max((len(line) - len(line.lstrip(" -?")) for line in text.splitlines()), default=0)
    return deepest + 2 + brackets < MAX_DEPTH


def _refuse_duplicate_keys(root: yaml.Node, path: str) -> None:
    """A key twice in one mapping (merge keys aside), as the composer below refuses it."""
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen and key != "<<":
                    mark = key_node.start_mark
                    raise LockshipError(f"{path}:{mark.line + 1}:{mark.column + 1}: duplicate key '{key}'")
                seen.add(key)
                pending += (key_node, value_node)
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value


@dataclass(frozen=True)
class _Done:
    """A composed node with the number of nodes it stands for, aliases expanded, and its height."""

    node: yaml.Node
    size: int = 1
    height: int = 0


@dataclass
class _Open:
    """A sequence or mapping being composed, with what its children so far stand for."""

    node: yaml.SequenceNode | yaml.MappingNode
    anchor: str | None
    size: int = 1
    height: int = 1
    key: yaml.Node | None = None  # a mapping's key waiting for its value
    keys: set[str] = field(default_factory=set)  # a mapping's keys so far

    def add(self, child: _Done) -> None:
        self.size += child.size
        self.height = max(self.height, child.height + 1)
        if isinstance(self.node, yaml.SequenceNode):
            self.node.value.append(child.node)
        elif self.key is None:
            self.key = child.node
        else:
            self.node.value.append((self.key, child.node))
            self.key = None


def _tag(events: Any, event: Any, kind: type[yaml.Node], value: str | None) -> str:
    tag: str = event.tag if event.tag not in (None, "!") else events.resolve(kind, value, event.implicit)
    return tag
