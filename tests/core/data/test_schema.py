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


def test_outside_and_min_rows_counts_round_trip_and_are_checked(tmp_path: Path) -> None:
    schema = Schema(
        columns=(
            ColumnRule("x", "float64", minimum=0.0, maximum=1.5, outside="flag"),
            ColumnRule("label", "str", allowed=("a", "b")),
        ),
        min_rows=100,
        min_rows_counts="all_files",
    )
    (tmp_path / "schema.yaml").write_text(schema_yaml(schema))
    assert load_schema(tmp_path / "schema.yaml") == schema
    assert "outside: flag" in (tmp_path / "schema.yaml").read_text()
    assert "min_rows_counts: all_files" in (tmp_path / "schema.yaml").read_text()
    (tmp_path / "bad.yaml").write_text("min_rows_counts: rows\ncolumns:\n  a: {dtype: int64, min: 1, outside: warn}\n")
    with pytest.raises(LockshipError) as error:
        load_schema(tmp_path / "bad.yaml")
    assert any("min_rows_counts: 'rows' is not one of" in line for line in error.value.problems)
    assert any("columns.a.outside: 'warn' is not one of" in line for line in error.value.problems)
    # A schema written before `outside` existed keeps refusing out-of-range values.
    (tmp_path / "old.yaml").write_text("columns:\n  a: {dtype: int64, min: 1}\n")
    old = load_schema(tmp_path / "old.yaml")
    assert old.columns[0].outside == "reject" and old.min_rows_counts == "each_file"
