"""The line of each key of a TOML file: tables, dotted keys, arrays of tables, multi-line strings."""

from __future__ import annotations

import tomllib

from lockship.core.tomllines import toml_lines

TEXT = """\
# comment
title = "x"
[train]
lr = 0.1
model.depth = 3
doc = \"\"\"
fake = 1
\"\"\"
[ "a b" . c ]
k = 1  # trailing
[[runs]]
seed = 1
[[runs]]
seed = 2
inline = { x = 1 }
"""


def test_every_key_is_placed_at_its_line() -> None:
    tomllib.loads(TEXT)  # the scan is only for valid TOML
    assert toml_lines(TEXT) == {
        ("title",): 2,
        ("train",): 3,
        ("train", "lr"): 4,
        ("train", "model"): 5,
        ("train", "model", "depth"): 5,
        ("train", "doc"): 6,
        ("a b",): 9,
        ("a b", "c"): 9,
        ("a b", "c", "k"): 10,
        ("runs",): 11,
        ("runs", 0): 11,
        ("runs", 0, "seed"): 12,
        ("runs", 1): 13,
        ("runs", 1, "seed"): 14,
        ("runs", 1, "inline"): 15,
    }
