"""JSON read with key lines; typed field access that names every problem by path and line."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.core.jsonfields import Fields, read_json


def test_values_are_json_and_keys_have_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{\n  "n": 1e300,\n  "s": "yes",\n  "list": [1, 2]\n}\n')
    document = read_json(path)
    assert document.data == {"n": 1e300, "s": "yes", "list": [1, 2]}  # as json reads it, not YAML
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


HOSTILE_JSON: dict[str, tuple[bytes, str]] = {
    "nested 100k deep": (b"[" * 100_000 + b"]" * 100_000, r"a\.json: nested deeper than 64 levels"),
    "objects nested 100k deep": (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, r"a\.json: nested deeper than 64 levels"),
    "nested 65 deep": (b"[" * 65 + b"]" * 65, r"a\.json: nested deeper than 64 levels"),
    "a 5,000-digit integer": (b'{"n": 1' + b"0" * 4999 + b"}", r"a\.json: an integer of 5000 digits \(more than 100\)"),
    "a number beyond a float": (b'{"n": 1e999}', r"a\.json: the number '1e999' is beyond a float's range"),
    "NaN": (b'{"n": NaN}', r"a\.json: NaN is not a JSON value"),
    "-Infinity": (b'{"n": -Infinity}', r"a\.json: -Infinity is not a JSON value"),
    "a lone surrogate": (
        b'{\n  "ok": "fine",\n  "title": "\\ud800"\n}',
        r"a\.json:3: title: '\\ud800' holds a lone surrogate",
    ),
    "a lone surrogate in a key": (b'{"a": {"\\udfff": 1}}', r"a\.json:1: a: '\\udfff' holds a lone surrogate"),
    "a lone surrogate in a list": (b'{"a": ["x", "\\ud800x"]}', r"a\.json:1: a\.1: '\\ud800x' holds a lone surrogate"),
    "not UTF-8": (b'{"a": "\xff"}', r"a\.json: not UTF-8 text"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_hostile_json_is_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    content, message = HOSTILE_JSON[case]
    (tmp_path / "a.json").write_bytes(content)
    with pytest.raises(LockshipError) as error:
        read_json(tmp_path / "a.json")
    assert len(error.value.problems) == 1 and "\n" not in error.value.problems[0]
    assert re.match(message, error.value.problems[0].removeprefix(f"{tmp_path}/")), error.value.problems[0]


def test_a_valid_surrogate_pair_is_text(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"emoji": "\\ud83d\\ude00"}')
    assert read_json(tmp_path / "a.json").data == {"emoji": "\N{GRINNING FACE}"}


def test_only_regular_files_are_read_and_never_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "device.json").symlink_to("/dev/zero")
    outcomes: dict[str, str] = {}

    def read_all() -> None:
        for name in ("fifo.json", "dir.json", "device.json"):
            try:
                read_json(tmp_path / name)
            except LockshipError as error:
                outcomes[name] = str(error)

    # A reader blocked on the FIFO would never return: the thread's join only bounds that hang.
    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    reader.join(timeout=60)
    special = "not a regular file (a FIFO, device or socket): refusing to read it"
    assert outcomes == {
        "fifo.json": f"{tmp_path / 'fifo.json'}: {special}",
        "dir.json": f"{tmp_path / 'dir.json'}: is a directory, expected a file",
        "device.json": f"{tmp_path / 'device.json'}: {special}",
    }


def test_files_over_the_size_limit_are_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"a": "' + "x" * 100 + '"}')
    with pytest.raises(LockshipError, match=r"a\.json: 109 bytes, more than the 100 lockship reads"):
        read_json(tmp_path / "a.json", limit=100)
    assert read_json(tmp_path / "a.json", limit=109).data == {"a": "x" * 100}


def test_a_list_where_an_object_is_expected_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{\n  "features": [[1, 2]],\n  "params": "text"\n}\n')
    fields = Fields(read_json(tmp_path / "a.json"))
    assert fields.get(("features", 0, "name"), str, "a name") is None
    assert fields.get(("params", "seed"), int, "an integer") is None
    assert fields.get(("params", 0), int, "an integer") is None
    assert fields.problems == [
        f"{tmp_path / 'a.json'}:2: features.0: expected an object, got [1, 2]",
        f"{tmp_path / 'a.json'}:3: params: expected an object, got 'text'",
        f"{tmp_path / 'a.json'}:3: params: expected a list, got 'text'",
    ]


def test_problem_values_are_cut_short(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"n": "x" * 10_000}))
    fields = Fields(read_json(tmp_path / "a.json"))
    fields.get(("n",), int, "an integer")
    assert fields.problems == [f"{tmp_path / 'a.json'}:1: n: expected an integer, got {'x' * 10_000!r:.57}..."]
