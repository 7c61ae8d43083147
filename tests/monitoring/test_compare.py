"""Drift at 100k rows: a 0.3-sd shift or a 1.5x scale of one feature is flagged, that one only; the rest stay quiet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lockship.monitoring.compare import compare
from lockship.monitoring.reference import read_profile
from lockship.monitoring.thresholds import Thresholds
from tests.monitoring.conftest import FEATURES, draw, write_log, write_profile

ROWS = 100_000


@pytest.fixture(scope="module", params=[10, 100], ids=["10-bins", "100-bins"])
def profile_path(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 10 is params.yaml's evaluate.profile_bins today; 100 is a finer profile.
    path = tmp_path_factory.mktemp("profile") / "profile.json"
    return write_profile(path, draw(ROWS, seed=1), bins=request.param)


def drifted(profile_path: Path, current: pd.DataFrame, directory: Path) -> list[str]:
    report = compare(read_profile(profile_path), [str(write_log(directory, current))], thresholds=Thresholds())
    assert report.rows == len(current)
    return [result.name for result in report.drifted]


def test_unshifted_traffic_stays_quiet(profile_path: Path, tmp_path: Path) -> None:
    for seed in (2, 3, 4):
        assert drifted(profile_path, draw(ROWS, seed=seed), tmp_path / str(seed)) == []


@pytest.mark.parametrize("feature", FEATURES)
def test_a_shift_of_three_tenths_of_a_standard_deviation_is_caught(
    profile_path: Path, tmp_path: Path, feature: str
) -> None:
    current = draw(ROWS, seed=5)
    current[feature] += 0.3 * current[feature].std()
    assert drifted(profile_path, current, tmp_path) == [feature]


@pytest.mark.parametrize("feature", FEATURES)
def test_a_feature_scaled_by_one_and_a_half_is_caught(profile_path: Path, tmp_path: Path, feature: str) -> None:
    current = draw(ROWS, seed=6)
    current[feature] *= 1.5
    assert drifted(profile_path, current, tmp_path) == [feature]


def test_a_wider_spread_around_the_same_mean_is_caught(profile_path: Path, tmp_path: Path) -> None:
    # The hardest case for KS (0.097 for 1.5x the sd), which PSI catches.
    current = draw(ROWS, seed=7)
    current["normal"] = 3.0 + (current["normal"] - 3.0) * 1.5
    assert drifted(profile_path, current, tmp_path) == ["normal"]


def test_a_small_sample_is_not_called_drift_by_chance(profile_path: Path, tmp_path: Path) -> None:
    # 200 rows: PSI and KS are noisy at this size; significance keeps them from firing.
    assert drifted(profile_path, draw(200, seed=8), tmp_path) == []


def test_missing_values_are_counted_and_flagged(profile_path: Path, tmp_path: Path) -> None:
    current = draw(ROWS, seed=9)
    current.loc[current.index[: ROWS // 10], "skewed"] = np.nan
    report = compare(read_profile(profile_path), [str(write_log(tmp_path, current))], thresholds=Thresholds())
    (result,) = report.drifted
    assert result.name == "skewed" and result.missing_share == pytest.approx(0.1)
    assert result.reasons == ["missing 10.0% (reference 0.0%)"]


def test_replicas_are_compared_together(profile_path: Path, tmp_path: Path) -> None:
    current = draw(ROWS, seed=10)
    halves = [
        write_log(tmp_path / name, part) for name, part in (("a", current[: ROWS // 2]), ("b", current[ROWS // 2 :]))
    ]
    report = compare(read_profile(profile_path), [str(path) for path in halves], thresholds=Thresholds())
    assert report.rows == ROWS and report.drifted == []


def test_drifted_features_come_first_most_drifted_first(profile_path: Path, tmp_path: Path) -> None:
    current = draw(ROWS, seed=11)
    current["wide"] += 0.3 * current["wide"].std()
    current["counts"] *= 2
    report = compare(read_profile(profile_path), [str(write_log(tmp_path, current))], thresholds=Thresholds())
    assert [result.name for result in report.features[:2]] == ["counts", "wide"]
    assert [result.name for result in report.features[2:]] == ["normal", "skewed", "uniform"]  # profile order
