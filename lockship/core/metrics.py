"""Metrics of a commit and their comparison under gate-metrics' rules, as a Markdown table.

Metrics files are JSON or YAML mappings; every finite number in them, however deeply nested, is a
metric named by its dotted key. Booleans and strings are not metrics.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lockship.core.config import GateMetricsConfig
from lockship.core.errors import LockshipError
from lockship.core.yamlio import parse_yaml


def is_number(value: object) -> bool:
    """A metric value that can be gated: a finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def flatten(value: Any, prefix: str = "", others: dict[str, str] | None = None) -> dict[str, float]:
    """Every finite number under `value` by dotted key; `others` gets what the other leaves are (NaN, a string...)."""
    if is_number(value):
        return {prefix: float(value)}
    if isinstance(value, Mapping):
        flat: dict[str, float] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key), others))
        return flat
    if others is not None and prefix and not isinstance(value, list):
        others[prefix] = describe_value(value)
    return {}


def describe_value(value: Any) -> str:
    """What a metric value that is not a finite number is, for a message: `NaN`, `a string ('n/a')`..."""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else "infinite"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    return "null" if value is None else type(value).__name__


def parse_metrics(data: bytes, label: str, others: dict[str, str] | None = None) -> dict[str, float]:
    """The metrics of a JSON or YAML file; with `others`, also what its non-number leaves are."""
    text = data.decode("utf-8", "replace")
    try:
        if label.split("@")[0].endswith((".yaml", ".yml")):
            parsed = parse_yaml(text, label).data
        else:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as error:
                raise LockshipError(f"{label}:{error.lineno}: not valid JSON: {error.msg}") from error
        if not isinstance(parsed, Mapping):
            raise LockshipError(f"{label}: expected a mapping of metric names to values")
        return flatten(parsed, "", others)
    except RecursionError:
        raise LockshipError(f"{label}: nested too deep to be a metrics file") from None


@dataclass(frozen=True)
class Row:
    metric: str
    base: float | None
    new: float | None
    delta: float | None
    rule: str
    verdict: str
    problem: str = ""


def compare(
    base: Mapping[tuple[str, str], float],
    new: Mapping[tuple[str, str], float],
    config: GateMetricsConfig,
    *,
    base_label: str,
    not_numbers: Mapping[tuple[str, str], str] | None = None,
) -> list[Row]:
    """One row per metric on either side; a row with a problem blocks the push.

    `not_numbers`: leaves of the pushed metrics files that are not finite numbers (what each is), so
    that a gated metric that became NaN or a string is called that, not missing.
    """
    rows: list[Row] = []
    not_numbers = {k: v for k, v in (not_numbers or {}).items() if k in base or config.rule_for(*k)}
    several_files = len({path for path, _ in (*base, *new, *not_numbers)}) > 1
    for path, key in sorted({*base, *new, *not_numbers}):
        name = f"{path}:{key}" if several_files else key
        rule = config.rule_for(path, key)
        old, value = base.get((path, key)), new.get((path, key))
        described = rule.describe() if rule else "not gated"
        if value is None and (path, key) in not_numbers:
            what = not_numbers[(path, key)]
            problem = f"{path}: metric '{key}' is not a number in the pushed commit: {what}" if rule else ""
            rows.append(
                Row(name, old, None, None, described, "FAIL: not a number" if rule else "not a number", problem)
            )
            continue
        if value is None:
            problem = f"{path}: metric '{key}' is on {base_label} but missing from the pushed commit" if rule else ""
            rows.append(Row(name, old, None, None, described, "FAIL: missing" if rule else "removed", problem))
            continue
        if rule is None:
            delta = None if old is None else value - old
            rows.append(Row(name, old, value, delta, described, "new" if old is None else "-"))
            continue
        verdict = rule.evaluate(old, value)
        base_text = "no base value" if old is None else f"base {old:g}"
        problem = f"{path}: metric '{key}': {verdict.reason} ({base_text}, new {value:g})"
        label = ("pass" if old is not None else "new, pass") if verdict.ok else f"FAIL: {verdict.reason}"
        rows.append(Row(name, old, value, verdict.delta, described, label, "" if verdict.ok else problem))
    return rows


def markdown_table(rows: Sequence[Row]) -> str:
    def number(value: float | None, signed: bool = False) -> str:
        return "—" if value is None else f"{value:+.6g}" if signed else f"{value:.6g}"

    lines = ["| metric | base | new | delta | rule | verdict |", "|---|---:|---:|---:|---|---|"]
    for row in rows:
        cells = (row.metric, number(row.base), number(row.new), number(row.delta, True), row.rule, row.verdict)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
