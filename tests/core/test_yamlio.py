from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
import yaml

from lockship.core.errors import LockshipError
from lockship.core.yamlcompose import MAX_ALIAS_NODES, MAX_DEPTH
from lockship.core.yamlio import Loader, Yaml12Loader, load_yaml, parse_yaml, read_text
from tests.conftest import billion_laughs


def test_lines_of_keys_and_items() -> None:
    document = parse_yaml("a:\n  b: 1\n  c:\n    - x\n    - y\nd: 2\n", "f.yaml")
    assert document.data == {"a": {"b": 1, "c": ["x", "y"]}, "d": 2}
    assert document.line(("a", "b")) == 2
    assert document.line(("a", "c", 1)) == 5
    assert document.line(("d",)) == 6
    assert document.where(("a", "missing")) == "f.yaml:1"


def test_empty_document_has_no_lines() -> None:
    document = parse_yaml("", "f.yaml")
    assert document.data is None
    assert document.where(("a",)) == "f.yaml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1\n", "f.yaml:2:1: invalid YAML: did not find expected ',' or ']'"),
        ("a: 1\n  b: 2\n", "f.yaml:2:4: invalid YAML: mapping values are not allowed in this context"),
        ("a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a'"),
        ("a: !!python/object:os.system x\n", "f.yaml:1:4: invalid YAML: could not determine a constructor"),
        ("--- 1\n--- 2\n", "f.yaml:2:1: invalid YAML: but found another document"),
    ],
)
def test_errors_name_line_and_column(text: str, message: str) -> None:
    with pytest.raises(LockshipError) as error:
        parse_yaml(text, "f.yaml")
    assert error.value.problems[0].startswith(message)


@pytest.mark.timeout(30)
def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it to read would wait for a writer forever
    for path, message in [
        (tmp_path / "pipe.yaml", "pipe.yaml: is a FIFO, not a regular file; lockship reads only regular files"),
        (Path("/dev/zero"), "/dev/zero: is a character device, not a regular file"),
        (tmp_path / "none.yaml", "none.yaml: file not found"),
        (tmp_path, "is a directory, expected a file"),
        (tmp_path / "bin.yaml", "bin.yaml: not UTF-8 text"),
    ]:
        with pytest.raises(LockshipError, match=message):
            load_yaml(path)


def test_the_loader_is_chosen_per_call(tmp_path: Path) -> None:
    text = "a: 1e-3\nb: on\nc: 0x1f\n"
    assert parse_yaml(text, "f.yaml").data == {"a": "1e-3", "b": True, "c": 31}  # YAML 1.1, as PyYAML
    assert parse_yaml(text, "f.yaml", loader=Yaml12Loader).data == {"a": 0.001, "b": "on", "c": 31}
    (tmp_path / "f.yaml").write_text(text)
    assert load_yaml(tmp_path / "f.yaml", loader=Yaml12Loader).data["b"] == "on"


def test_read_text_names_the_file_as_asked(tmp_path: Path) -> None:
    with pytest.raises(LockshipError, match=r"^sub/none.yaml: file not found$"):
        read_text(tmp_path / "none.yaml", name="sub/none.yaml")


def test_an_alias_bomb_stops_at_the_cap_in_bounded_memory() -> None:
    text = billion_laughs()  # 10**10 scalars if expanded
    tracemalloc.start()
    try:
        with pytest.raises(LockshipError) as error:
            parse_yaml(text, "params.yaml", loader=Yaml12Loader)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.value.problems == (f"params.yaml:5: YAML aliases expand too far (over {MAX_ALIAS_NODES} nodes)",)
    assert peak < 20 << 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("loop: &loop [*loop]\n", "f.yaml:1: YAML alias *loop is inside its own anchor (recursive)"),
        ("a: &m {b: *m}\n", "f.yaml:1: YAML alias *m is inside its own anchor (recursive)"),
        ("[" * 200 + "]" * 200, f"f.yaml:1: YAML nested too deep (over {MAX_DEPTH} levels)"),
        ("- " * 150 + "x\n", f"f.yaml:1: YAML nested too deep (over {MAX_DEPTH} levels)"),
        # Each alias is small, but the depth it stands for is counted: data walkers recurse through it.
        (
            "".join(f"a{i}: &a{i} [{'*a' + str(i - 1) if i else 1}]\n" for i in range(MAX_DEPTH + 1)),
            f"f.yaml:{MAX_DEPTH}: YAML nested too deep (over {MAX_DEPTH} levels)",
        ),
    ],
)
def test_recursive_aliases_and_deep_nesting_are_one_line(text: str, expected: str) -> None:
    for loader in (Loader, Yaml12Loader, yaml.SafeLoader):
        with pytest.raises(LockshipError) as error:
            parse_yaml(text, "f.yaml", loader=loader)
        assert error.value.problems == (expected,)


def test_ordinary_anchors_aliases_and_merges_still_read() -> None:
    text = "base: &base {lr: 0.1, depth: 3}\nsmall: {<<: *base, depth: 2}\ncopy: *base\nitems: &i [1, 2]\nmore: *i\n"
    document = parse_yaml(text, "f.yaml")
    assert document.data == {
        "base": {"lr": 0.1, "depth": 3},
        "small": {"lr": 0.1, "depth": 2},
        "copy": {"lr": 0.1, "depth": 3},
        "items": [1, 2],
        "more": [1, 2],
    }
    assert document.line(("small", "depth")) == 2 and document.line(("copy", "lr")) == 1
    # Just under the cap is fine: a legitimate file with many aliases is not refused.
    within = "a: &a [" + ", ".join(["x"] * 999) + "]\nb: [" + ", ".join(["*a"] * (MAX_ALIAS_NODES // 1000)) + "]\n"
    assert len(parse_yaml(within, "f.yaml").data["b"]) == MAX_ALIAS_NODES // 1000


@pytest.mark.parametrize("name", ["dvc.lock", "dvc.yaml", "params.yaml", "schema.yaml"])
@pytest.mark.parametrize("loader", [Loader, Yaml12Loader, yaml.SafeLoader])
def test_plain_files_read_by_the_loaders_composer_read_the_same(name: str, loader: type[yaml.SafeLoader]) -> None:
    # A text without `&` and shallow is composed by the loader itself; an `&` in a comment forces the
    # capped composer on the same document.
    text = (Path(__file__).resolve().parents[2] / name).read_text()
    fast, capped = parse_yaml(text, name, loader=loader), parse_yaml(text + "# &\n", name, loader=loader)
    assert fast.data == capped.data and fast.lines == capped.lines
    key = next(line for line in text.splitlines() if line[:1].isalpha())
    twice = text + key.split(":")[0] + ": again\n"
    for body in (twice, twice + "# &\n"):
        with pytest.raises(LockshipError, match=f"^{name}:{len(text.splitlines()) + 1}:1: duplicate key"):
            parse_yaml(body, name, loader=loader)
