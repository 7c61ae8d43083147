"""Thresholds from params.yaml's `lockship.drift`: defaults, per-feature overrides, one line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.monitoring.thresholds import Limits, Thresholds, read_thresholds


def test_defaults_without_a_file_or_a_section(tmp_path: Path) -> None:
    assert read_thresholds(None, features=["a"]) == Thresholds()
    (tmp_path / "params.yaml").write_text("train:\n  seed: 1\n")
    assert read_thresholds(tmp_path / "params.yaml", features=["a"]) == Thresholds()


def test_global_values_and_per_feature_overrides(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    drift = "psi: 0.25\np_value: 0.001\nfeatures:\n  a: {ks: 0.2}\n  b c: {missing: 0.5}\n"
    path.write_text(in_lockship_drift(drift))
    thresholds = read_thresholds(path, features=["a", "b c", "d"])
    assert thresholds.p_value == 0.001
    assert thresholds.limits("d") == Limits(psi=0.25)
    assert thresholds.limits("a") == Limits(psi=0.25, ks=0.2)  # the rest from the global values
    assert thresholds.limits("b c") == Limits(psi=0.25, missing=0.5)


def test_every_mistake_is_a_line_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(in_lockship_drift("psi: high\nkss: 0.1\nfeatures:\n  zz: {psi: 0.3}\n  a: {ks: -1}\n"))
    with pytest.raises(LockshipError) as error:
        read_thresholds(path, features=["a"])
    assert sorted(error.value.problems) == sorted(
        [
            f"{path}:3: lockship.drift.psi: expected a number, got 'high'",
            f"{path}:6: lockship.drift.features.zz: not a feature of the profile",
            f"{path}:7: lockship.drift.features.a.ks: must be at least 0, got -1.0",
            f"{path}:4: lockship.drift.kss: unknown key",
        ]
    )


def in_lockship_drift(text: str) -> str:
    """A params file whose `lockship.drift` holds `text` (lines 3 onwards)."""
    return "lockship:\n  drift:\n" + "".join(f"    {line}\n" for line in text.splitlines())
