from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.core.params import Section, load_section
from lockship.core.yamlio import parse_yaml


def section(text: str) -> Section:
    document = parse_yaml(text, "params.yaml")
    return Section(document, ("s",), document.data["s"])


def test_values_defaults_and_bounds() -> None:
    s = section("s:\n  n: 3\n  x: 2\n  name: a\n  maybe: null\n")
    assert s.get("n", int, minimum=1) == 3
    assert s.get("x", float) == 2.0 and isinstance(s.get("x", float), float)
    assert s.get("name", str, choices=["a", "b"]) == "a"
    assert s.get("absent", int, 7) == 7
    assert s.optional("maybe", int) is None
    assert s.optional("absent2", str) is None
    s.check()


def test_every_problem_is_collected_with_its_line() -> None:
    s = section("s:\n  n: 0\n  x: .inf\n  flag: 1\n  name: c\n  typo: 1\n")
    s.get("n", int, minimum=1)
    s.get("x", float)
    s.get("flag", bool)
    s.get("name", str, choices=["a", "b"])
    s.get("required", int)
    with pytest.raises(LockshipError) as error:
        s.check()
    assert error.value.problems == (
        "params.yaml:2: s.n: must be at least 1, got 0",
        "params.yaml:3: s.x: expected a finite number, got inf",
        "params.yaml:4: s.flag: expected true or false, got 1",
        "params.yaml:5: s.name: 'c' is not one of 'a', 'b'",
        "params.yaml:1: s: missing required key 'required'",
        "params.yaml:6: s.typo: unknown key",
    )


def test_nested_sections_flag_their_unknown_keys() -> None:
    s = section("s:\n  inner:\n    a: 1\n    b: 2\n  other: 5\n")
    s.section("inner").get("a", int)
    s.get("other", int)
    with pytest.raises(LockshipError) as error:
        s.check()
    assert error.value.problems == ("params.yaml:4: s.inner.b: unknown key",)


def test_a_section_that_is_not_a_mapping() -> None:
    s = section("s:\n  inner: 3\n")
    s.section("inner")
    s.section("absent")
    with pytest.raises(LockshipError) as error:
        s.check()
    assert error.value.problems == (
        "params.yaml:2: s.inner: expected a mapping, got 3",
        "params.yaml:1: s: missing required key 'absent'",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n", "params.yaml:1: expected a mapping of sections, one per stage"),
        ("other: {}\n", "params.yaml:1: section 's': missing"),
        ("s: [1]\n", "params.yaml:1: section 's': expected a mapping, got [1]"),
        ("", "params.yaml: expected a mapping of sections, one per stage"),
    ],
)
def test_load_section_errors(text: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text(text)
    with pytest.raises(LockshipError) as error:
        load_section("params.yaml", "s")
    assert error.value.problems == (message,)
