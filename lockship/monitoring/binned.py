"""Binned statistics: current values counted on the profile's bins, then PSI, KS and chi-squared per feature.

The training data need not be at hand: everything is computed from the profile's bin counts. KS is
the largest gap between the two CDFs at the profile's edges (a lower bound of the exact statistic,
close to it when the bins are fine). PSI is taken over the profile's bins merged into at most
`psi_bins` groups of about equal reference mass, so its usual thresholds (0.1, 0.25) keep their
meaning however fine the profile is: over many fine bins PSI grows with sampling noise alone.
A shift of the mean (in reference standard deviations) is checked too: on a discrete feature the
quantile edges sit on the values themselves, so a shift by less than the spacing moves no value
across an edge and neither PSI nor KS can see it. Significance (the p-value of the KS test, of a
z-test of the means, of chi-squared) guards against small samples: an effect over its threshold
counts as drift only when it is also unlikely to be chance.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from lockship.monitoring.lookup import Binner
from lockship.monitoring.reference import CategoricalReference, NumericReference

# Empty bins are floored at this share so PSI stays finite (the usual convention).
PSI_FLOOR = 1e-4


class NumericCounter:
    """Counts on the profile's bins plus two more: below the training minimum and above its maximum."""

    def __init__(self, reference: NumericReference) -> None:
        self.reference = reference
        low = reference.low if reference.low is not None else math.inf
        high = np.nextafter(reference.high, math.inf) if reference.high is not None else math.inf
        # [low, e1 ... ek, high+]: index 0 is below the training range, the last is above it.
        self.binner = Binner(np.concatenate([[low], reference.edges, [high]]))
        self.counts = np.zeros(len(self.binner.edges) + 1, dtype=np.int64)
        self.missing = 0
        self.total = 0.0
        self.low, self.high = math.inf, -math.inf

    def add(self, values: NDArray[np.float64]) -> None:
        missing = int(np.count_nonzero(np.isnan(values)))
        if missing:
            self.missing += missing
            values = values[~np.isnan(values)]
        if not len(values):
            return
        self.counts += np.bincount(self.binner.index(values), minlength=len(self.counts))
        self.total += float(values.sum())
        self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))

    @property
    def present(self) -> int:
        return int(self.counts.sum())

    def bins(self) -> NDArray[np.int64]:
        """Counts on the profile's own bins (the out-of-range ones folded into the outer bins)."""
        inner = self.counts[1:-1].copy()
        inner[0] += self.counts[0]
        inner[-1] += self.counts[-1]
        return inner

    @property
    def out_of_range(self) -> int:
        return int(self.counts[0] + self.counts[-1])


class CategoryCounter:
    def __init__(self, reference: CategoricalReference) -> None:
        self.reference = reference
        self.counts: Counter[str] = Counter()
        self.missing = 0

    def add(self, counts: Counter[str], missing: int) -> None:
        self.counts.update(counts)
        self.missing += missing

    @property
    def present(self) -> int:
        return sum(self.counts.values())

    @property
    def unseen(self) -> int:
        return sum(count for value, count in self.counts.items() if value not in self.reference.counts)


@dataclass
class FeatureResult:
    """One feature's comparison; `reasons` lists every threshold it passed (empty: no drift)."""

    name: str
    kind: str
    rows: int
    psi: float
    p_value: float  # of the chi-squared test (categorical) or the KS test (numeric)
    missing_share: float
    reference_missing_share: float
    out_of_range_share: float  # numeric: outside the training range; categorical: unseen categories
    ks: float | None = None
    chi2: float | None = None
    mean: float | None = None
    mean_shift_sd: float | None = None  # (current mean - reference mean) / reference sd
    mean_p_value: float | None = None  # of a z-test of the two means
    reasons: list[str] = field(default_factory=list)
    # For the charts: bin labels or edges, and the two distributions as shares.
    edges: list[float] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    reference_shares: list[float] = field(default_factory=list)
    current_shares: list[float] = field(default_factory=list)
    current_range: tuple[float, float] | None = None

    @property
    def drifted(self) -> bool:
        return bool(self.reasons)

    @property
    def severity(self) -> float:
        return max(self.psi, self.ks or 0.0)


def psi(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """Population stability index of two count vectors on the same bins."""
    if reference.sum() == 0 or current.sum() == 0:
        return 0.0
    expected = np.maximum(reference / reference.sum(), PSI_FLOOR)
    actual = np.maximum(current / current.sum(), PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def chi_squared(reference: NDArray[np.float64], current: NDArray[np.float64]) -> tuple[float, float]:
    """Pearson's chi-squared test of homogeneity on a 2 x k table: the statistic and its p-value."""
    from scipy.special import chdtrc

    keep = (reference + current) > 0
    table = np.vstack([reference[keep], current[keep]]).astype(np.float64)
    if table.shape[1] < 2 or table[0].sum() == 0 or table[1].sum() == 0:
        return 0.0, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(chdtrc(table.shape[1] - 1, statistic))


def ks_from_bins(reference: NDArray[np.float64], current: NDArray[np.float64]) -> tuple[float, float]:
    """The largest CDF gap at the bin edges and its asymptotic two-sample p-value."""
    from scipy.special import kolmogorov

    n, m = reference.sum(), current.sum()
    if n == 0 or m == 0:
        return 0.0, 1.0
    gap = float(np.max(np.abs(np.cumsum(reference)[:-1] / n - np.cumsum(current)[:-1] / m), initial=0.0))
    effective = n * m / (n + m)
    return gap, float(kolmogorov(gap * math.sqrt(effective)))


def merge_groups(counts: NDArray[np.float64], groups: int) -> NDArray[np.intp]:
    """Start indices of at most `groups` runs of adjacent bins holding about equal shares of `counts`."""
    if counts.sum() == 0 or len(counts) <= groups:
        return np.arange(len(counts))
    cumulative = np.cumsum(counts) / counts.sum()
    ends = np.searchsorted(cumulative, np.arange(1, groups) / groups, side="left")
    starts = np.unique(np.concatenate([[0], ends + 1]))
    return starts[starts < len(counts)]


def numeric_result(counter: NumericCounter, *, psi_bins: int) -> FeatureResult:
    reference = counter.reference
    ref_bins = reference.counts
    cur_bins = counter.bins().astype(np.float64)
    starts = merge_groups(ref_bins, psi_bins)
    ks, p_value = ks_from_bins(ref_bins, cur_bins)
    present = counter.present
    rows = present + counter.missing
    mean = counter.total / present if present else None
    shift = shift_p = None
    if mean is not None and reference.mean is not None and reference.std:
        shift = (mean - reference.mean) / reference.std
        # In reference sds, assuming the spread unchanged: enough to tell a real shift from noise.
        z = shift / math.sqrt(1 / ref_bins.sum() + 1 / present)
        shift_p = math.erfc(abs(z) / math.sqrt(2))
    return FeatureResult(
        name=reference.name,
        kind="numeric",
        rows=rows,
        psi=psi(np.add.reduceat(ref_bins, starts), np.add.reduceat(cur_bins, starts)),
        p_value=p_value,
        ks=ks,
        missing_share=counter.missing / rows if rows else 0.0,
        reference_missing_share=_share(reference.missing, reference.missing + int(ref_bins.sum())),
        out_of_range_share=counter.out_of_range / present if present else 0.0,
        mean=mean,
        mean_shift_sd=shift,
        mean_p_value=shift_p,
        edges=[float(edge) for edge in reference.edges],
        reference_shares=_shares(ref_bins),
        current_shares=_shares(cur_bins),
        current_range=(counter.low, counter.high) if present else None,
    )


def categorical_result(counter: CategoryCounter) -> FeatureResult:
    reference = counter.reference
    categories = sorted(set(reference.counts) | set(counter.counts))
    ref_counts = np.array([reference.counts.get(value, 0) for value in categories], dtype=np.float64)
    cur_counts = np.array([counter.counts.get(value, 0) for value in categories], dtype=np.float64)
    statistic, p_value = chi_squared(ref_counts, cur_counts)
    present = counter.present
    rows = present + counter.missing
    return FeatureResult(
        name=reference.name,
        kind="categorical",
        rows=rows,
        psi=psi(ref_counts, cur_counts),
        p_value=p_value,
        chi2=statistic,
        missing_share=counter.missing / rows if rows else 0.0,
        reference_missing_share=_share(reference.missing, reference.missing + int(ref_counts.sum())),
        out_of_range_share=counter.unseen / present if present else 0.0,
        categories=categories,
        reference_shares=_shares(ref_counts),
        current_shares=_shares(cur_counts),
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _shares(counts: NDArray[np.float64]) -> list[float]:
    total = counts.sum()
    return [float(count / total) if total else 0.0 for count in counts]
