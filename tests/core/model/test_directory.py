"""The model directory: written all at once, read back with every problem named by path and line."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lockship.core.errors import LockshipError
from lockship.core.model.directory import FILES, LINEAR_FILE, PACKAGE_FILE, read_model_dir, write_model_dir

SCHEMA = """\
target: label
columns:
  height: {dtype: float64, min: 100, max: 250}
  count: {dtype: int64}
  label: {dtype: str, allowed: [a, b]}
"""
EXAMPLE: dict[str, Any] = {"height": 170.5, "count": 3}


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    model = tmp_path / "in" / "model.skops"
    model.parent.mkdir()
    model.write_bytes(b"model bytes")
    metadata = {
        "target": "label",
        "classes": ["a", "b"],
        "features": [{"name": "height", "dtype": "float64"}, {"name": "count", "dtype": "int64"}],
        "model": {"sha256": hashlib.sha256(b"model bytes").hexdigest()},
    }
    paths = {"model_path": model, "metadata_path": model.parent / "metadata.json",
             "schema_path": model.parent / "schema.yaml", "profile_path": model.parent / "profile.json"}  # fmt: skip
    paths["metadata_path"].write_text(json.dumps(metadata, indent=2))
    paths["schema_path"].write_text(SCHEMA)
    paths["profile_path"].write_text('{"rows": 10, "features": {}}')
    return paths


def write(target: Path, sources: dict[str, Path], **overrides: Any) -> None:
    settings: dict[str, Any] = {"lock_hash": "ab" * 32, "params": {"train": {"seed": 1}}, "metrics": {"accuracy": 0.9},
                                "example": EXAMPLE, "example_probabilities": [0.25, 0.75]} | overrides  # fmt: skip
    write_model_dir(target, **sources, **settings)


def test_round_trip(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "out", sources)
    model_dir = read_model_dir(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FILES)
    assert model_dir.package.lock_hash == "ab" * 32
    assert model_dir.package.model_sha256 == hashlib.sha256(b"model bytes").hexdigest()
    assert model_dir.package.example == EXAMPLE
    assert [f.name for f in model_dir.features] == ["height", "count"]
    assert model_dir.classes == ("a", "b")
    assert model_dir.model_path.read_bytes() == b"model bytes"


def test_writing_twice_gives_the_same_bytes(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "one", sources)
    write(tmp_path / "two", sources)
    for name in FILES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_a_tampered_model_is_refused(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "out", sources)
    (tmp_path / "out" / "model.skops").write_bytes(b"other bytes")
    with pytest.raises(LockshipError, match=r"model.skops: sha256 [0-9a-f]{64} does not match .* changed or swapped"):
        read_model_dir(tmp_path / "out")


def test_a_model_that_is_not_its_metadata_is_refused(tmp_path: Path, sources: dict[str, Path]) -> None:
    sources["model_path"].write_bytes(b"retrained")
    with pytest.raises(LockshipError, match="metadata and model come from different training runs"):
        write(tmp_path / "out", sources)
    assert not (tmp_path / "out").exists()


def test_a_failed_write_keeps_the_old_directory(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "out", sources)
    before = {name: (tmp_path / "out" / name).read_bytes() for name in FILES}
    with pytest.raises(LockshipError, match=r"package.json: example: 'height': 999.0 is above the maximum 250.0"):
        write(tmp_path / "out", sources, example={"height": 999.0, "count": 1}, lock_hash="cd" * 32)
    assert {name: (tmp_path / "out" / name).read_bytes() for name in FILES} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no temporary directory left


@pytest.mark.parametrize(
    ("example", "message"),
    [({"height": 170.0}, "'count': missing"), ({**EXAMPLE, "x": 1}, "'x': not a feature"),
     ({"height": "170", "count": 3}, "'height': expected a number")],
)  # fmt: skip
def test_bad_examples_are_refused(tmp_path: Path, sources: dict[str, Path], example: Any, message: str) -> None:
    with pytest.raises(LockshipError, match=message):
        write(tmp_path / "out", sources, example=example)


def test_missing_files_are_each_named(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "out", sources)
    (tmp_path / "out" / "profile.json").unlink()
    (tmp_path / "out" / "schema.yaml").unlink()
    with pytest.raises(LockshipError) as error:
        read_model_dir(tmp_path / "out")
    assert [line.split(":")[0] for line in error.value.problems] == [
        str(tmp_path / "out" / "schema.yaml"), str(tmp_path / "out" / "profile.json")]  # fmt: skip
    with pytest.raises(LockshipError, match="no such model directory"):
        read_model_dir(tmp_path / "absent")


def test_package_json_problems_name_their_line(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "out", sources)
    package = tmp_path / "out" / PACKAGE_FILE
    data = json.loads(package.read_text())
    data["lock_hash"] = "NOT HEX"
    data["metrics"]["accuracy"] = "high"
    data["extra"] = 1
    package.write_text(json.dumps(data, indent=2, sort_keys=True))
    lines = package.read_text().splitlines()
    with pytest.raises(LockshipError) as error:
        read_model_dir(tmp_path / "out")

    def line_of(text: str) -> int:
        return next(number for number, line in enumerate(lines, 1) if text in line)

    assert error.value.problems == (
        f"{package}:{line_of('lock_hash')}: lock_hash: expected lowercase hex, got 'NOT HEX'",
        f"{package}:{line_of('accuracy')}: metrics.accuracy: expected a number, got 'high'",
        f"{package}:{line_of('extra')}: extra: unknown key",
    )


def test_broken_json_names_line_and_column(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "out", sources)
    (tmp_path / "out" / "metadata.json").write_text('{\n  "target": "label",\n  oops\n}')
    with pytest.raises(LockshipError, match=r"metadata.json:3:3: invalid JSON"):
        read_model_dir(tmp_path / "out")


def test_linear_parameters_are_written_and_verified(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "plain", sources)
    assert read_model_dir(tmp_path / "plain").linear_path is None
    assert not (tmp_path / "plain" / LINEAR_FILE).exists()
    write(tmp_path / "out", sources, linear={"coef": [[0.5]]})
    model_dir = read_model_dir(tmp_path / "out")
    assert model_dir.linear_path == tmp_path / "out" / LINEAR_FILE
    assert json.loads(model_dir.linear_path.read_text()) == {"coef": [[0.5]]}
    model_dir.linear_path.write_text('{"coef": [[5.0]]}\n')
    with pytest.raises(LockshipError, match=r"linear.json: sha256 [0-9a-f]{64} does not match .* changed after"):
        read_model_dir(tmp_path / "out")


def test_example_probabilities_must_cover_every_class(tmp_path: Path, sources: dict[str, Path]) -> None:
    with pytest.raises(LockshipError, match="example_probabilities has 3 values for 2 classes"):
        write(tmp_path / "out", sources, example_probabilities=[0.2, 0.3, 0.5])
    assert not (tmp_path / "out").exists()


def deep(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


def edit_json(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def replace_with(path: Path, content: str | bytes) -> None:
    path.unlink()
    path.write_bytes(content if isinstance(content, bytes) else content.encode())


def substitute(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def become_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def become_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def become_device(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


SPECIAL = r"not a regular file \(a directory, FIFO, device or socket\): refusing to read it"
# Each case damages one file of a valid directory (with linear.json) the way issue 8's attack did.
MALFORMED_DIRECTORIES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "package.json nested 100k deep": ("package.json", lambda p: replace_with(p, deep(100_000)), "nested deeper than"),
    "metadata.json nested 100k deep": ("metadata.json", lambda p: replace_with(p, "[" * 100_000 + "]" * 100_000),
                                       "nested deeper than"),
    "profile.json nested 100k deep": ("profile.json", lambda p: replace_with(p, deep(100_000)), "nested deeper than"),
    "params nested 100 deep": ("package.json", lambda p: edit_json(p, lambda d: d.update(params=json.loads(deep(100)))),
                               "nested deeper than 64 levels"),
    "a 5,000-digit integer": ("package.json", lambda p: substitute(p, '"format": 3', '"format": 3' + "0" * 4999),
                              r"an integer of 5000 digits"),
    "an infinite metric": ("package.json", lambda p: substitute(p, '"accuracy": 0.9', '"accuracy": 1e999'),
                           r"the number '1e999' is beyond a float's range"),
    "a NaN metric": ("package.json", lambda p: substitute(p, '"accuracy": 0.9', '"accuracy": NaN'),
                     "NaN is not a JSON value"),
    "an example value a lone surrogate": ("package.json",
                                          lambda p: edit_json(p, lambda d: d["example"].update(height="\ud800")),
                                          r"\d+: example.height: '\\ud800' holds a lone surrogate"),
    "a class a lone surrogate": ("metadata.json", lambda p: edit_json(p, lambda d: d.update(classes=["a", "\udc80"])),
                                 r"\d+: classes.1: '\\udc80' holds a lone surrogate"),
    "schema.yaml a lone surrogate": ("schema.yaml", lambda p: substitute(p, "[a, b]", '[a, "\\ud800"]'),
                                     "invalid YAML"),
    "package.json a list": ("package.json", lambda p: replace_with(p, "[]"), "expected a JSON object"),
    "params a list": ("package.json", lambda p: edit_json(p, lambda d: d.update(params=[1])),
                      r"\d+: params: expected an object, got \[1\]"),
    "a feature a list": ("metadata.json", lambda p: edit_json(p, lambda d: d["features"].__setitem__(0, ["height"])),
                         r"\d+: features.0: expected an object \{name, dtype\}, got \['height'\]"),
    "model.sha256 under a list": ("metadata.json", lambda p: edit_json(p, lambda d: d.update(model=[1])),
                                  r"\d+: model: expected an object, got \[1\]"),
    "profile.json a list": ("profile.json", lambda p: replace_with(p, "[]"), "expected a JSON object"),
    "profile features a list": ("profile.json", lambda p: replace_with(p, '{"features": []}'),
                                r"\d+: features: expected an object of feature profiles"),
    "a profile bound a string": ("profile.json", lambda p: replace_with(p, '{"features": {"height": {"min": "low"}}}'),
                                 r"\d+: features.height.min: expected a number, got 'low'"),
    "profile.json not UTF-8": ("profile.json", lambda p: replace_with(p, b'{"a": "\xff"}'), "not UTF-8 text"),
    "profile.json a directory": ("profile.json", become_directory, SPECIAL),
    "linear.json a FIFO": ("linear.json", become_fifo, "not a regular file"),
    "linear.json /dev/zero": ("linear.json", become_device, "not a regular file"),
    "metadata.json a FIFO": ("metadata.json", become_fifo, SPECIAL),
    "schema.yaml a FIFO": ("schema.yaml", become_fifo, SPECIAL),
    "model.skops a FIFO": ("model.skops", become_fifo, SPECIAL),
    "package.json over 16 MiB": ("package.json", lambda p: replace_with(p, " " * (16 * 2**20 + 1) + "{}"),
                                 r"\d+ bytes, more than the 16777216 lockship reads"),
    "schema.yaml over 2 MiB": ("schema.yaml", lambda p: replace_with(p, "#" * (2 * 2**20 + 1)),
                               r"\d+ bytes, more than the 2097152 lockship reads"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED_DIRECTORIES))
def test_malformed_directory_files_are_one_line_naming_the_file(
    tmp_path: Path, sources: dict[str, Path], case: str
) -> None:
    name, damage, message = MALFORMED_DIRECTORIES[case]
    write(tmp_path / "out", sources, linear={"coef": [[0.5]]})
    damage(tmp_path / "out" / name)
    # A reader blocked on a FIFO would never return: the thread's join only bounds that hang.
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: outcome.append(raises(read_model_dir, tmp_path / "out")), daemon=True)
    reader.start()
    reader.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], LockshipError), outcome
    assert len(outcome[0].problems) == 1 and "\n" not in outcome[0].problems[0], outcome[0].problems
    problem = outcome[0].problems[0]
    assert problem.startswith(str(tmp_path / "out" / name)), problem
    assert re.search(message, problem.removeprefix(str(tmp_path / "out" / name))), problem


def raises(function: Callable[[Path], Any], path: Path) -> BaseException:
    try:
        function(path)
    except BaseException as error:  # the test asserts which: anything but a LockshipError is a failure
        return error
    raise AssertionError(f"{path}: accepted")


def test_every_other_file_is_named_by_sha256(tmp_path: Path, sources: dict[str, Path]) -> None:
    write(tmp_path / "out", sources)
    package = json.loads((tmp_path / "out" / PACKAGE_FILE).read_text())
    assert package["files"] == {
        name: hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest()
        for name in ("metadata.json", "profile.json", "schema.yaml")
    }
    # A change that still parses (a wider range, another profile) is caught by its hash.
    (tmp_path / "out" / "schema.yaml").write_text(SCHEMA.replace("max: 250", "max: 2500"))
    with pytest.raises(LockshipError) as error:
        read_model_dir(tmp_path / "out")
    assert error.value.problems[0].startswith(f"{tmp_path / 'out' / 'schema.yaml'}: sha256 ")
    assert error.value.problems[0].endswith("the file was changed after packaging")
    write(tmp_path / "out", sources)
    del package["files"]["profile.json"]
    (tmp_path / "out" / PACKAGE_FILE).write_text(json.dumps(package))
    with pytest.raises(LockshipError, match=r"package.json: files: expected the sha256 of metadata.json, profile.json"):
        read_model_dir(tmp_path / "out")
