"""The binned statistics: exact bin lookup, PSI, KS and chi-squared against references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lockship.monitoring.binned import chi_squared, ks_from_bins, merge_groups, psi


def test_psi_is_zero_for_equal_shares_and_grows_with_the_difference() -> None:
    same = np.array([10.0, 20.0, 30.0])
    assert psi(same, same * 7) == 0.0
    assert 0 < psi(same, np.array([12.0, 20.0, 28.0])) < psi(same, np.array([20.0, 20.0, 20.0]))
    assert np.isfinite(psi(same, np.array([0.0, 0.0, 60.0])))  # empty bins are floored, never infinite


def test_binned_ks_matches_scipy_when_every_value_is_an_edge() -> None:
    rng = np.random.default_rng(2)
    reference, current = rng.integers(0, 20, 5000), rng.integers(1, 21, 3000)
    edges = np.arange(1.0, 21.0)
    counts = [np.bincount(np.searchsorted(edges, data, side="right"), minlength=21) for data in (reference, current)]
    statistic, p_value = ks_from_bins(counts[0].astype(float), counts[1].astype(float))
    exact = stats.ks_2samp(reference, current, method="asymp")
    assert statistic == pytest.approx(exact.statistic)
    assert p_value == pytest.approx(exact.pvalue, rel=0.1)  # scipy rounds the effective size


def test_chi_squared_matches_scipy() -> None:
    reference, current = np.array([50.0, 30.0, 20.0, 0.0]), np.array([40.0, 40.0, 15.0, 5.0])
    statistic, p_value = chi_squared(reference, current)
    expected = stats.chi2_contingency(np.vstack([reference, current]), correction=False)
    assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue))


def test_fine_bins_merge_into_groups_of_about_equal_mass() -> None:
    counts = np.full(100, 10.0)
    starts = merge_groups(counts, 10)
    assert list(starts) == list(range(0, 100, 10))
    assert list(merge_groups(np.array([1.0, 2.0, 3.0]), 10)) == [0, 1, 2]
