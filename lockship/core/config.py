"""lockship's own hook settings: the `lockship:` section of params.yaml, or of the file given by `--config`.

    lockship:
      gate_metrics:
        missing_base: pass        # pass or fail when the target branch has no metrics to compare with
        metrics:                  # one rule per metric: its dotted key, or `path:key` for one file only
          accuracy:
            direction: higher     # higher (default) or lower is better
            min: 0.90             # absolute bounds on the new value
            max_drop: 0.01        # allowed change for the worse, absolute ...
            max_relative_drop: 0.02   # ... and/or as a fraction of |base|; the larger allowance wins
          loss: {direction: lower, max: 0.5, max_drop: 0.05}

Only the `gate_metrics` key is read here; other keys of the `lockship` section are left to the
hooks that own them. Metrics without a rule are shown but never block a push.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.params import Section
from lockship.core.yamlio import YamlDocument, load_yaml

SECTION = "lockship"
DEFAULT_CONFIG = "params.yaml"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    delta: float | None
    reason: str  # empty when ok


@dataclass(frozen=True)
class Rule:
    """What a metric must satisfy; `None` bounds and tolerances are not checked."""

    direction: str = "higher"
    minimum: float | None = None
    maximum: float | None = None
    max_drop: float | None = None
    max_relative_drop: float | None = None

    def describe(self) -> str:
        parts = [f"{self.direction} is better"]
        if self.minimum is not None:
            parts.append(f"min {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"max {self.maximum:g}")
        if self.max_drop is not None:
            parts.append(f"drop <= {self.max_drop:g}")
        if self.max_relative_drop is not None:
            parts.append(f"drop <= {self.max_relative_drop:.2%}")
        return ", ".join(parts)

    def allowed_drop(self, base: float) -> float | None:
        """How much worse than `base` the new value may be, or None when drops are not gated."""
        allowances = [
            allowance
            for allowance in (
                self.max_drop,
                None if self.max_relative_drop is None else self.max_relative_drop * abs(base),
            )
            if allowance is not None
        ]
        return max(allowances) if allowances else None

    def evaluate(self, base: float | None, new: float) -> Verdict:
        """Check a new value against the bounds, and against `base` when there is one."""
        delta = None if base is None else new - base
        problems: list[str] = []
        if self.minimum is not None and new < self.minimum:
            problems.append(f"{new:g} is below the minimum {self.minimum:g}")
        if self.maximum is not None and new > self.maximum:
            problems.append(f"{new:g} is above the maximum {self.maximum:g}")
        if base is not None and delta is not None:
            allowed = self.allowed_drop(base)
            worse_by = -delta if self.direction == "higher" else delta
            # A hair of slack so that a drop of exactly the tolerance passes despite float rounding.
            if allowed is not None and worse_by > allowed + 1e-12 * max(1.0, abs(base)):
                problems.append(f"worse by {worse_by:g}, allowed {allowed:g}")
        return Verdict(ok=not problems, delta=delta, reason="; ".join(problems))


@dataclass(frozen=True)
class GateMetricsConfig:
    missing_base: str = "pass"
    rules: Mapping[str, Rule] = field(default_factory=dict)
    source: str = ""  # `path:line` of the section, for messages

    def rule_for(self, path: str, key: str) -> Rule | None:
        """The rule for metric `key` of file `path`: a `path:key` rule wins over a bare `key` rule."""
        return self.rules.get(f"{path}:{key}", self.rules.get(key))


@dataclass(frozen=True)
class LockshipConfig:
    gate_metrics: GateMetricsConfig = field(default_factory=GateMetricsConfig)


def _number(section: Section, key: str) -> float | None:
    value = section.optional(key, float)
    return None if value is None else float(value)


def _rule(section: Section) -> Rule:
    rule = Rule(
        direction=section.get("direction", str, "higher", choices=("higher", "lower")),
        minimum=_number(section, "min"),
        maximum=_number(section, "max"),
        max_drop=section.optional("max_drop", float, minimum=0),
        max_relative_drop=section.optional("max_relative_drop", float, minimum=0),
    )
    if rule.minimum is None and rule.maximum is None and rule.allowed_drop(1.0) is None:
        section.problem(None, "a rule needs at least one of min, max, max_drop, max_relative_drop")
    if rule.minimum is not None and rule.maximum is not None and rule.minimum > rule.maximum:
        section.problem("min", f"min {rule.minimum:g} is above max {rule.maximum:g}")
    return rule


def gate_metrics_config(document: YamlDocument, values: Mapping[str, Any]) -> GateMetricsConfig:
    """Parse `lockship.gate_metrics`; every problem is raised together, each with its line."""
    section = Section(document, (SECTION, "gate_metrics"), values)
    missing_base = section.get("missing_base", str, "pass", choices=("pass", "fail"))
    rules: dict[str, Rule] = {}
    if "metrics" in values:
        metrics = section.section("metrics")
        for name in sorted(map(str, metrics.values)):
            rule = metrics.section(name)  # a rule that is not a mapping is reported here, once
            if isinstance(metrics.values[name], Mapping):
                rules[name] = _rule(rule)
    section.check()
    return GateMetricsConfig(missing_base=missing_base, rules=rules, source=document.where(section.keys))


def parse_config(document: YamlDocument) -> LockshipConfig:
    """lockship's settings from a parsed params (or config) file; no `lockship` section means defaults."""
    data = document.data
    if data is None:
        return LockshipConfig()
    if not isinstance(data, Mapping):
        raise LockshipError(f"{document.where(())}: expected a mapping with a '{SECTION}' section")
    values = data.get(SECTION)
    if values is None:
        return LockshipConfig()
    if not isinstance(values, Mapping):
        raise LockshipError(f"{document.where((SECTION,))}: {SECTION}: expected a mapping, got {values!r}")
    gate = values.get("gate_metrics")
    if gate is None:
        return LockshipConfig()
    if not isinstance(gate, Mapping):
        where = document.where((SECTION, "gate_metrics"))
        raise LockshipError(f"{where}: {SECTION}.gate_metrics: expected a mapping, got {gate!r}")
    return LockshipConfig(gate_metrics=gate_metrics_config(document, gate))


def load_config(path: str | os.PathLike[str] | None) -> LockshipConfig:
    """Settings from `path` (which must exist), or from ./params.yaml when it exists, else defaults."""
    if path is None:
        if not os.path.isfile(DEFAULT_CONFIG):
            return LockshipConfig()
        path = DEFAULT_CONFIG
    elif not os.path.exists(path):
        raise LockshipError(f"{os.fspath(path)}: config file not found", exit_code=EXIT_USAGE)
    return parse_config(load_yaml(path))
