from __future__ import annotations

import pytest

from lockship.core.globs import glob_match, glob_regex


@pytest.mark.parametrize(
    ("path", "pattern", "matches"),
    [
        ("data/raw.csv", "*.csv", True),
        ("raw.csv", "*.csv", True),
        ("data/raw.csv", "data/*.csv", True),
        ("data/sub/raw.csv", "data/*.csv", False),
        ("data/sub/raw.csv", "data/**/*.csv", True),
        ("data/raw.csv", "data/**/*.csv", True),
        ("models/model.pt", "models/**", True),
        ("notes.txt", "*.csv", False),
        ("data/a1.csv", "data/a[0-9].csv", True),
        ("data/ab.csv", "data/a[!b].csv", False),
    ],
)
def test_glob_match(path: str, pattern: str, matches: bool) -> None:
    assert glob_match(path, pattern) is matches


def test_a_class_may_start_with_a_bracket_and_backslashes_are_literal() -> None:
    assert glob_match("]", "[]]") and glob_match("b", "[]b]") and not glob_match("c", "[]b]")
    assert glob_match("x\\y", "x[\\]y")
    assert glob_regex("**/a") == "(?:.*/)?a"
