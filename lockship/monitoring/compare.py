"""Drift of current data against the reference profile: stream, count on the profile's bins, judge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lockship.core.errors import LockshipError
from lockship.monitoring.binned import (
    CategoryCounter,
    FeatureResult,
    NumericCounter,
    categorical_result,
    numeric_result,
)
from lockship.monitoring.reference import REGENERATE, CategoricalReference, NumericReference, Profile
from lockship.monitoring.sources import Wanted, stream
from lockship.monitoring.thresholds import Thresholds, judge
from lockship.serving.logformat import Skipped

# What the profile would need for prediction drift; said once in every report until evaluate writes it.
PREDICTION_MISSING = (
    "prediction drift: not checked: the profile has no test-set class-probability distribution "
    "and the input log records no predictions"
)


# Below this many bins KS sees a change only where it crosses one of few edges (deciles at 10).
FINE_BINS = 50


def profile_notes(profile: Profile) -> list[str]:
    """What the profile lacks for a full check, and how to get it."""
    notes = [PREDICTION_MISSING]
    if 0 < profile.bins < FINE_BINS:
        notes.append(
            f"{profile.path}: {profile.bins} bins per numeric feature: KS sees changes only at those edges; "
            f"set evaluate.profile_bins to 100 in params.yaml and run `dvc repro evaluate`"
        )
    return notes


@dataclass
class DriftReport:
    profile: str
    sources: list[str]
    rows: int
    features: list[FeatureResult]  # drifted first, the most drifted first
    thresholds: Thresholds
    skipped: Skipped = field(default_factory=Skipped)
    notes: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> list[FeatureResult]:
        return [result for result in self.features if result.drifted]


def compare(
    profile: Profile,
    sources: Sequence[str],
    *,
    thresholds: Thresholds,
    advance: Callable[[int], object] | None = None,
) -> DriftReport:
    """Compare every input in `sources` (log directories, CSV, Parquet) with `profile`, feature by feature."""
    numeric = {name: NumericCounter(ref) for name, ref in profile.features.items() if isinstance(ref, NumericReference)}
    categorical = {
        name: CategoryCounter(ref) for name, ref in profile.features.items() if isinstance(ref, CategoricalReference)
    }
    if sum(int(ref.counts.sum()) for ref in (c.reference for c in numeric.values())) == 0 and not categorical:
        raise LockshipError(f"{profile.path}: the profile holds no reference values; {REGENERATE}")
    wanted = Wanted(tuple(numeric), tuple(categorical))
    skipped = Skipped()
    rows = 0
    for chunk in stream(sources, wanted, skipped, advance):
        rows += chunk.rows
        for name, values in chunk.numeric.items():
            numeric[name].add(values)
        for name, (counts, missing) in chunk.categories.items():
            categorical[name].add(counts, missing)
    if rows == 0:
        damaged = f" ({len(skipped.problems)} damaged stretch(es) skipped)" if skipped.problems else ""
        raise LockshipError(f"{', '.join(sources)}: no rows to compare{damaged}; has the server logged any input yet?")
    results = [numeric_result(counter, psi_bins=thresholds.psi_bins) for counter in numeric.values()]
    results += [categorical_result(counter) for counter in categorical.values()]
    for result in results:
        result.reasons = judge(result, thresholds.limits(result.name), p_value=thresholds.p_value)
    order = {name: position for position, name in enumerate(profile.names)}
    results.sort(key=lambda result: (not result.drifted, -result.severity if result.drifted else order[result.name]))
    return DriftReport(profile.path, list(sources), rows, results, thresholds, skipped, profile_notes(profile))
