from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.data.schema import ColumnRule, Schema, load_schema, schema_yaml
from lockship.core.errors import LockshipError


def test_schema_round_trips_through_its_file(tmp_path: Path) -> None:
    schema = Schema(
        columns=(
            ColumnRule("x", "float64", nullable=True, minimum=0.0, maximum=1.5),
            ColumnRule("n", "int64"),
            ColumnRule("label", "str", allowed=("a", "b")),
            ColumnRule("flag", "bool"),
        ),
        min_rows=5,
        target="label",
        strict=False,
        files=("data/*.csv",),
    )
    (tmp_path / "schema.yaml").write_text(schema_yaml(schema))
    assert load_schema(tmp_path / "schema.yaml") == schema
    assert schema.column("n") == ColumnRule("n", "int64") and schema.column("zzz") is None


def test_every_problem_in_a_schema_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("schema.yaml").write_text(
        "min_rows: -1\nfiles: [1]\ncolumns:\n  a: {dtype: int64, min: 5, max: 1}\n  b: {dtype: text}\n"
        "  c: {dtype: str, allowed: []}\n  d: {dtype: bool, nullable: maybe, extra: 1}\n"
    )
    with pytest.raises(LockshipError) as error:
        load_schema("schema.yaml")
    assert error.value.problems == (
        "schema.yaml:1: min_rows: must be at least 0, got -1",
        "schema.yaml:2: files: expected a list of glob patterns",
        "schema.yaml:4: columns.a.min: min 5.0 is greater than max 1.0",
        "schema.yaml:5: columns.b.dtype: 'text' is not one of 'int64', 'float64', 'bool', 'str'",
        "schema.yaml:6: columns.c.allowed: an empty list would reject every value",
        "schema.yaml:7: columns.d.nullable: expected true or false, got 'maybe'",
        "schema.yaml:7: columns.d.extra: unknown key",
    )


def test_a_schema_needs_columns(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("columns: {}\n")
    with pytest.raises(LockshipError, match="columns: no columns declared"):
        load_schema(tmp_path / "s.yaml")
