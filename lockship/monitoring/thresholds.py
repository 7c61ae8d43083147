"""Drift thresholds: global, overridden per feature, from `lockship.drift` in params.yaml (beside the
other settings of lockship's own tools, since no stage reads them).

lockship:
  drift:
    psi: 0.1            # PSI above this is drift
    ks: 0.1             # the KS statistic above this is drift (numeric features)
    p_value: 0.01       # ... but only when the difference is also significant at this level
    missing: 0.05       # the missing share rising by more than this over the reference's
    out_of_range: 0.01  # the share outside the training range, or of unseen categories
    psi_bins: 10        # PSI over at most this many groups of the profile's bins
    features:
      mean radius: {psi: 0.3, ks: 0.15}
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lockship.core.params import Section
from lockship.core.yamlio import load_yaml
from lockship.monitoring.binned import FeatureResult

SECTION = ("lockship", "drift")
LIMITS: tuple[str, ...] = ("psi", "ks", "mean_shift", "missing", "out_of_range")


@dataclass(frozen=True)
class Limits:
    psi: float = 0.1
    ks: float = 0.1
    mean_shift: float = 0.2
    missing: float = 0.05
    out_of_range: float = 0.01

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in LIMITS}


@dataclass(frozen=True)
class Thresholds:
    default: Limits = Limits()
    p_value: float = 0.01
    psi_bins: int = 10
    features: Mapping[str, Limits] = field(default_factory=dict)

    def limits(self, feature: str) -> Limits:
        return self.features.get(feature, self.default)


def read_thresholds(path: str | os.PathLike[str] | None, *, features: Sequence[str]) -> Thresholds:
    """`lockship.drift` of `path`; defaults when `path` is None or has no such section."""
    if path is None:
        return Thresholds()
    document = load_yaml(path)
    data = document.data if isinstance(document.data, Mapping) else {}
    tools = data.get(SECTION[0])
    values = tools.get(SECTION[1]) if isinstance(tools, Mapping) else None
    if values is None:
        return Thresholds()
    section = Section(document, SECTION, values if isinstance(values, Mapping) else {})
    if not isinstance(values, Mapping):
        section.problem(None, f"expected a mapping, got {values!r}")
    default = _limits(section, Limits())
    p_value = section.get("p_value", float, 0.01, exclusive_minimum=0, maximum=1)
    psi_bins = section.get("psi_bins", int, 10, minimum=2, maximum=1000)
    overrides: dict[str, Limits] = {}
    if "features" in section.values:
        per_feature = section.section("features")
        for name in per_feature.values:
            if str(name) not in features:
                per_feature.optional(str(name), dict)  # read, so it is not reported as an unknown key too
                per_feature.problem(str(name), "not a feature of the profile")
                continue
            overrides[str(name)] = _limits(per_feature.section(str(name)), default)
    section.check()
    return Thresholds(default, p_value, psi_bins, overrides)


def _limits(section: Section, base: Limits) -> Limits:
    found: dict[str, Any] = {}
    for name in LIMITS:
        value = section.optional(name, float, minimum=0)
        if value is not None:
            found[name] = value
    return replace(base, **found)


def judge(result: FeatureResult, limits: Limits, *, p_value: float) -> list[str]:
    """Every threshold `result` passes, as a short reason; an effect counts only when significant."""
    reasons = []
    significant = result.p_value < p_value
    if significant and result.psi > limits.psi:
        reasons.append(f"PSI {result.psi:.3f} > {limits.psi:g}")
    if significant and result.ks is not None and result.ks > limits.ks:
        reasons.append(f"KS {result.ks:.3f} > {limits.ks:g}")
    shift, shift_p = result.mean_shift_sd, result.mean_p_value
    if shift is not None and shift_p is not None and shift_p < p_value and abs(shift) > limits.mean_shift:
        reasons.append(f"mean {shift:+.2f} sd > {limits.mean_shift:g}")
    rise = result.missing_share - result.reference_missing_share
    if rise > limits.missing:
        reasons.append(f"missing {result.missing_share:.1%} (reference {result.reference_missing_share:.1%})")
    if result.out_of_range_share > limits.out_of_range:
        what = "outside the training range" if result.kind == "numeric" else "unseen categories"
        reasons.append(f"{result.out_of_range_share:.1%} {what} > {limits.out_of_range:.1%}")
    return reasons
