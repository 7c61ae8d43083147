"""JSON read with key lines; typed field access that names every problem by path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.core.jsonfields import Fields, read_json


def test_values_are_json_and_keys_have_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{\n  "n": 1e400,\n  "s": "yes",\n  "list": [1, 2]\n}\n')
    document = read_json(path)
    assert document.data == {"n": float("inf"), "s": "yes", "list": [1, 2]}  # as json reads it, not YAML
    assert document.where(("s",)) == f"{path}:3"
    assert document.where(("list", 1)) == f"{path}:4"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b'{\n  "a": 1,\n}', r"a\.json:3:1: invalid JSON: "), (b"\xff\xfe", r"a\.json: not UTF-8 text")],
)
def test_bad_files_name_path_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "a.json").write_bytes(content)
    with pytest.raises(LockshipError, match=message):
        read_json(tmp_path / "a.json")
    with pytest.raises(LockshipError, match=r"b\.json: file not found"):
        read_json(tmp_path / "b.json")


def test_fields_collect_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{\n  "count": true,\n  "items": [{"name": 3}],\n  "flag": false\n}\n')
    fields = Fields(read_json(path))
    assert fields.get(("flag",), bool, "a boolean") is False
    assert fields.get(("count",), int, "an integer") is None  # a boolean is not an integer here
    assert fields.get(("items", 0, "name"), str, "a name") is None
    assert fields.get(("items", 1, "name"), str, "a name") is None
    assert fields.get(("missing", "deeper"), str, "text") is None
    assert fields.problems == [
        f"{path}:2: count: expected an integer, got True",
        f"{path}:3: items.0.name: expected a name, got 3",
        f"{path}:3: items.1: missing",
        f"{path}:1: missing: missing",
    ]
    with pytest.raises(LockshipError) as error:
        fields.check()
    assert error.value.problems == tuple(fields.problems)
    Fields(read_json(path)).check()  # no problems: no error
