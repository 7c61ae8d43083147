from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lockship.core.data.features import FeatureRules, apply_rules, date_columns, proposed_drops, read_rules
from lockship.core.errors import LockshipError
from lockship.core.params import load_section


def table(rows: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Customer ID": [f"C{1000 + i}" for i in range(rows)],
            "row": list(range(rows)),
            "Weight (kg)": [50.0 + i for i in range(rows)],
            "signup date": [f"2023-0{1 + i % 9}-1{i % 10}" if i % 4 else None for i in range(rows)],
            "last seen": [f"2024-01-0{1 + i % 9}T1{i % 10}:30:00" for i in range(rows)],
            "Comments (free text)": [f"called about order number {i} twice" for i in range(rows)],
            "source": ["web"] * rows,
            "colour": [("red", "blue", None)[i % 3] for i in range(rows)],
            "label": [("a", "b", "c")[i % 3] for i in range(rows)],
        }
    )


def test_keep_and_drop_by_name_and_pattern_keep_the_target() -> None:
    frame = table()
    kept = apply_rules(frame, FeatureRules(keep=("Weight*", "colour"), dates="drop"), target="label", where="p.yaml")
    assert list(kept.columns) == ["Weight (kg)", "colour", "label"]
    dropped = apply_rules(
        frame, FeatureRules(drop=("Customer ID", "*(free text)", "s*", "l*")), target="label", where="p"
    )
    assert list(dropped.columns) == ["row", "Weight (kg)", "colour", "label"]


def test_a_pattern_that_matches_nothing_is_an_error() -> None:
    with pytest.raises(LockshipError) as error:
        apply_rules(table(), FeatureRules(keep=("weight*",), drop=("nope",)), target="label", where="params.yaml")
    assert error.value.problems == (
        "params.yaml: prepare.columns.keep: 'weight*' matches no column",
        "params.yaml: prepare.columns.drop: 'nope' matches no column",
    )


def test_dates_become_numbers_in_place_and_missing_dates_missing_numbers() -> None:
    frame = table()
    assert date_columns(frame) == ["signup date", "last seen"]
    expanded = apply_rules(frame, FeatureRules(keep=("signup date", "last seen")), target="label", where="p")
    assert list(expanded.columns) == [
        *(f"signup date_{part}" for part in ("year", "month", "day", "weekday")),
        *(f"last seen_{part}" for part in ("year", "month", "day", "weekday", "hour")),
        "label",
    ]
    assert expanded.loc[1, ["signup date_year", "signup date_month", "signup date_day"]].tolist() == [2023, 2, 11]
    assert expanded.loc[1, "signup date_weekday"] == 5  # 2023-02-11 was a Saturday
    assert np.isnan(expanded.loc[0, "signup date_year"]) and expanded.loc[1, "last seen_hour"] == 11
    assert all(expanded[name].dtype == np.float64 for name in expanded.columns if name != "label")
    dropped = apply_rules(frame, FeatureRules(dates="drop"), target="label", where="p")
    assert "signup date" not in dropped.columns and "last seen" not in dropped.columns


def test_identifiers_free_text_and_constants_are_proposed_with_reasons() -> None:
    proposals = proposed_drops(table(), target="label")
    assert sorted(proposals) == ["Comments (free text)", "Customer ID", "row", "source"]
    assert proposals["Customer ID"].startswith("identifier-like")
    assert proposals["Comments (free text)"].startswith("free text: 6.0 words")
    assert proposals["source"] == "constant: a single value"


def test_rules_are_read_from_params_with_their_lines(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("prepare:\n  columns:\n    keep: []\n    drop: ['ID', 3]\n  dates: explode\n")
    section = load_section(str(params), "prepare")
    read_rules(section)
    assert (
        section.problems
        == [
            f"{params}:4: prepare.columns.drop: item 1: expected a column name or glob pattern, got 3",
            f"{params}:5: prepare.dates: 'explode' is not one of expand, drop",
        ]
        or section.problems
    )
    params.write_text("prepare:\n  target: y\n")
    assert read_rules(load_section(str(params), "prepare")) == FeatureRules()
