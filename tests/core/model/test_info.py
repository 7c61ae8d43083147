"""package.json and train's metadata.json: read back exactly, every problem of a file reported at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lockship.core.data.schema import ColumnRule, Schema
from lockship.core.errors import LockshipError
from lockship.core.model.info import Feature, PackageInfo, example_problems, read_metadata, read_package

PACKAGE = PackageInfo(
    lock_hash="ab" * 32,
    model_sha256="d" * 64,
    params={"train": {"seed": 1}},
    metrics={"accuracy": 0.9},
    example={"height": 170.5},
    example_probabilities=(0.25, 0.75),
    linear_sha256="e" * 64,
    files={"metadata.json": "f" * 64},
)
METADATA: dict[str, Any] = {
    "target": "label",
    "classes": ["a", "b"],
    "features": [{"name": "height", "dtype": "float64"}, {"name": "count", "dtype": "int64"}],
    "model": {"sha256": "d" * 64},
}


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


def test_package_round_trip(tmp_path: Path) -> None:
    assert read_package(write(tmp_path / "package.json", PACKAGE.to_json())) == PACKAGE


def test_package_problems_are_all_reported(tmp_path: Path) -> None:
    data = PACKAGE.to_json() | {"format": 1, "lock_hash": "AB", "metrics": {"accuracy": "high"}, "extra": 1}
    data |= {"example_probabilities": [0.5, 1.5], "linear_sha256": "x", "files": {"schema.yaml": "x"}}
    del data["model_sha256"]
    path = write(tmp_path / "package.json", data)
    with pytest.raises(LockshipError) as error:
        read_package(path)
    assert error.value.problems == (
        f"{path}:2: format: unsupported format 1, this lockship reads 3",
        f"{path}:3: lock_hash: expected lowercase hex, got 'AB'",
        f"{path}:1: model_sha256: missing",
        f"{path}:10: metrics.accuracy: expected a number, got 'high'",
        f"{path}:17: example_probabilities.1: expected a probability, got 1.5",
        f"{path}:19: linear_sha256: expected 64 lowercase hex digits, got 'x'",
        f"{path}:21: files.schema.yaml: expected 64 lowercase hex digits, got 'x'",
        f"{path}:23: extra: unknown key",
    )


def test_metadata(tmp_path: Path) -> None:
    metadata = read_metadata(write(tmp_path / "metadata.json", METADATA))
    assert metadata.target == "label" and metadata.classes == ("a", "b")
    assert metadata.features == (Feature("height", "float64"), Feature("count", "int64"))
    assert metadata.model_sha256 == "d" * 64 and metadata.data == METADATA
    bad = METADATA | {"classes": ["a"], "features": [{"name": "x", "dtype": "float64"}] * 2}
    with pytest.raises(LockshipError) as error:
        read_metadata(write(tmp_path / "metadata.json", bad))
    assert [line.split(": ", 1)[1] for line in error.value.problems] == [
        "classes: a classifier needs two or more classes, got ['a']",
        "features: feature 'x' listed twice",
    ]


def test_example_problems() -> None:
    schema = Schema(columns=(ColumnRule("height", "float64", minimum=100, maximum=250), ColumnRule("ok", "bool")))
    features = (Feature("height", "float64"), Feature("ok", "bool"))
    assert example_problems({"height": 170.0, "ok": True}, features, schema) == []
    assert example_problems({"height": float("nan"), "ok": 1, "other": 2}, features, schema) == [
        "'other': not a feature of the model",
        "'height': nan is not a finite number",
        "'ok': expected true or false, got 1",
    ]
    assert example_problems({"height": 99}, features, schema) == [
        "'ok': missing",
        "'height': 99 is below the minimum 100",
    ]
