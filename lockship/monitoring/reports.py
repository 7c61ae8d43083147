"""The drift report as JSON (for machines) and Markdown (for a pull request or a CI summary)."""

from __future__ import annotations

import math
from typing import Any

from lockship.monitoring.binned import FeatureResult
from lockship.monitoring.compare import DriftReport

DIGITS = 6


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, DIGITS)


def feature_json(result: FeatureResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": result.kind,
        "drifted": result.drifted,
        "reasons": result.reasons,
        "rows": result.rows,
        "psi": _round(result.psi),
        "p_value": _round(result.p_value),
        "missing_share": _round(result.missing_share),
        "reference_missing_share": _round(result.reference_missing_share),
    }
    if result.kind == "numeric":
        entry |= {
            "ks": _round(result.ks),
            "out_of_range_share": _round(result.out_of_range_share),
            "mean": _round(result.mean),
            "mean_shift_sd": _round(result.mean_shift_sd),
        }
    else:
        entry |= {"chi2": _round(result.chi2), "unseen_share": _round(result.out_of_range_share)}
    return entry


def report_json(report: DriftReport) -> dict[str, Any]:
    thresholds = report.thresholds
    return {
        "profile": report.profile,
        "sources": report.sources,
        "rows": report.rows,
        "drifted": [result.name for result in report.drifted],
        "features": {result.name: feature_json(result) for result in report.features},
        "order": [result.name for result in report.features],
        "thresholds": {
            **thresholds.default.as_dict(),
            "p_value": thresholds.p_value,
            "psi_bins": thresholds.psi_bins,
            "features": {name: limits.as_dict() for name, limits in sorted(thresholds.features.items())},
        },
        "skipped": {"stretches": len(report.skipped.problems), "bytes": report.skipped.bytes},
        "notes": report.notes,
    }


def summary_line(report: DriftReport) -> str:
    drifted = report.drifted
    head = f"{len(drifted)} of {len(report.features)} features drifted" if drifted else "no drift"
    return f"{head} in {report.rows:,} rows against {report.profile}"


def _cell(value: float | None, form: str) -> str:
    return "" if value is None else format(value, form)


def report_markdown(report: DriftReport) -> str:
    lines = [f"# Drift: {summary_line(report)}", ""]
    if report.skipped.problems:
        lines += [f"Skipped {len(report.skipped.problems)} damaged stretch(es) of the input log "
                  f"({report.skipped.bytes:,} bytes).", ""]  # fmt: skip
    lines += [
        "| feature | drift | PSI | KS | p-value | missing | out of range / unseen | mean shift (sd) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in report.features:
        verdict = "**" + "; ".join(result.reasons) + "**" if result.drifted else "no"
        lines.append(
            f"| {_escape(result.name)} | {verdict} | {result.psi:.4f} | {_cell(result.ks, '.4f')} | "
            f"{result.p_value:.2g} | {result.missing_share:.1%} | {result.out_of_range_share:.2%} | "
            f"{_cell(result.mean_shift_sd, '+.2f')} |"
        )
    lines += ["", *(f"- {note}" for note in report.notes), ""]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
