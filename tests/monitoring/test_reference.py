"""Reading the profile: every unusable one is one line that says how to regenerate it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.monitoring.reference import NumericReference, read_profile
from tests.monitoring.conftest import draw, write_profile


def test_reads_what_evaluate_writes(tmp_path: Path) -> None:
    frame = draw(1000, seed=1).assign(colour=["red", "blue"] * 500)
    profile = read_profile(write_profile(tmp_path / "profile.json", frame, bins=20))
    assert profile.names == [*draw(1, seed=1).columns, "colour"]
    normal = profile.features["normal"]
    assert isinstance(normal, NumericReference) and len(normal.edges) == 19 and normal.counts.sum() == 1000
    assert profile.features["colour"].counts == {"blue": 500, "red": 500}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "not JSON"),
        ("[]", "not a lockship reference profile (no 'features')"),
        ('{"features": {"a": {"kind": "numeric", "counts": [1]}}}', "feature 'a': 'edges'"),
        ('{"features": {"a": {"kind": "numeric", "edges": [2, 1], "counts": [1, 1, 1], "min": 0, "max": 3}}}',
         "feature 'a': the bin edges are not increasing"),
        ('{"features": {"a": {"kind": "histogram"}}}', "feature 'a': unknown kind 'histogram'"),
    ],
)  # fmt: skip
def test_a_broken_or_old_profile_is_one_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "profile.json"
    path.write_text(content)
    with pytest.raises(LockshipError) as error:
        read_profile(path)
    (line,) = error.value.problems
    assert line.startswith(f"{path}: ") and expected in line and line.endswith("`dvc repro evaluate`")


def test_a_missing_profile_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(LockshipError, match=r"profile.json: file not found; regenerate it with `dvc repro evaluate`"):
        read_profile(tmp_path / "profile.json")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(LockshipError, match=r"dir\.json: is a directory without profile\.json, expected the profile"):
        read_profile(tmp_path / "dir.json")


def test_a_model_directory_stands_for_its_profile(tmp_path: Path) -> None:
    model_dir = tmp_path / "model-dir"
    model_dir.mkdir()
    write_profile(model_dir / "profile.json", draw(100, seed=1), bins=5)
    assert read_profile(model_dir).path == str(model_dir / "profile.json")


def test_nan_in_a_profile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    entry = {"kind": "numeric", "edges": [float("nan")], "counts": [1, 1], "min": 0, "max": 1}
    path.write_text(json.dumps({"features": {"a": entry}}))
    with pytest.raises(LockshipError, match="'edges' must hold finite numbers"):
        read_profile(path)
