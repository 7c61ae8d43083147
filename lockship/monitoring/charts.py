"""The self-contained HTML drift report: one reference-vs-current histogram per feature, inline SVG only."""

from __future__ import annotations

import html
import math

from lockship.monitoring.binned import FeatureResult
from lockship.monitoring.compare import DriftReport
from lockship.monitoring.reports import summary_line

WIDTH, HEIGHT, PAD = 560, 180, 28
MAX_CATEGORIES = 30
STYLE = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
.grid{display:flex;flex-wrap:wrap;gap:1.5em}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}
.card.drifted{border-color:#c0392b;box-shadow:0 0 0 1px #c0392b}
.card h2{font-size:15px;margin:.2em 0}.reasons{color:#c0392b}.stats{color:#555;font-size:12px}
.ref{fill:#95a5a6;fill-opacity:.55}.cur{fill:none;stroke:#c0392b;stroke-width:1.6}
.curbar{fill:#c0392b;fill-opacity:.55}.axis{stroke:#999}.label{font-size:10px;fill:#555}
"""


def report_html(report: DriftReport) -> str:
    cards = "\n".join(_card(result) for result in report.features)
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in report.notes)
    skipped = ""
    if report.skipped.problems:
        skipped = (
            f"<p>Skipped {len(report.skipped.problems)} damaged stretch(es) of the input log "
            f"({report.skipped.bytes:,} bytes).</p>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Drift report</title><style>{STYLE}</style></head><body>"
        f"<h1>Drift: {html.escape(summary_line(report))}</h1>{skipped}"
        "<p>Grey: the reference (training data, from the profile); red: the current data. "
        "Drifted features come first.</p>"
        f'<div class="grid">{cards}</div><ul>{notes}</ul></body></html>\n'
    )


def _card(result: FeatureResult) -> str:
    reasons = "; ".join(result.reasons) if result.drifted else "no drift"
    stats = f"PSI {result.psi:.4f}"
    if result.ks is not None:
        stats += f" · KS {result.ks:.4f}"
    if result.chi2 is not None:
        stats += f" · χ² {result.chi2:.1f}"
    stats += f" · p {result.p_value:.2g} · missing {result.missing_share:.1%}"
    if result.mean_shift_sd is not None:
        stats += f" · mean shift {result.mean_shift_sd:+.2f} sd"
    chart = _histogram(result) if result.kind == "numeric" else _bars(result)
    return (
        f'<div class="card{" drifted" if result.drifted else ""}"><h2>{html.escape(result.name)}</h2>'
        f'<div class="{"reasons" if result.drifted else "stats"}">{html.escape(reasons)}</div>'
        f'<div class="stats">{html.escape(stats)}</div>{chart}</div>'
    )


def _svg(body: str, low: str, high: str) -> str:
    axis = f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"/>'
    labels = (
        f'<text class="label" x="{PAD}" y="{HEIGHT - 10}">{html.escape(low)}</text>'
        f'<text class="label" x="{WIDTH - PAD}" y="{HEIGHT - 10}" text-anchor="end">{html.escape(high)}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">{body}{axis}{labels}</svg>'
    )


def _histogram(result: FeatureResult) -> str:
    """Densities on a value axis: each profile bin as wide as its edges; the open outer bins end at the data."""
    edges = result.edges
    if not edges:
        return _svg("", "(a single bin)", "")
    inner = edges[-1] - edges[0] if len(edges) > 1 else 1.0
    step = inner / max(1, len(edges) - 1)
    low, high = edges[0] - step, edges[-1] + step
    if result.current_range is not None:  # widen to show values far outside the training range
        low = max(min(low, result.current_range[0]), edges[0] - 10 * (inner or 1.0))
        high = min(max(high, result.current_range[1]), edges[-1] + 10 * (inner or 1.0))
    bounds = [low, *edges, high]
    widths = [max(bounds[i + 1] - bounds[i], 1e-12) for i in range(len(bounds) - 1)]
    ref = [share / width for share, width in zip(result.reference_shares, widths, strict=True)]
    cur = [share / width for share, width in zip(result.current_shares, widths, strict=True)]
    top = max(max(ref), max(cur)) or 1.0
    span = high - low or 1.0

    def x(value: float) -> float:
        return PAD + (value - low) / span * (WIDTH - 2 * PAD)

    def y(density: float) -> float:
        return HEIGHT - PAD - density / top * (HEIGHT - 2 * PAD)

    bars = "".join(
        f'<rect class="ref" x="{x(bounds[i]):.1f}" y="{y(d):.1f}" '
        f'width="{max(x(bounds[i + 1]) - x(bounds[i]), 0.5):.1f}" height="{HEIGHT - PAD - y(d):.1f}"/>'
        for i, d in enumerate(ref)
    )
    points = []
    for i, d in enumerate(cur):
        points += [f"{x(bounds[i]):.1f},{y(d):.1f}", f"{x(bounds[i + 1]):.1f},{y(d):.1f}"]
    line = f'<polyline class="cur" points="{" ".join(points)}"/>'
    return _svg(bars + line, _number(low), _number(high))


def _bars(result: FeatureResult) -> str:
    """Side-by-side bars per category, the most frequent first; the rest folded into 'other'."""
    pairs = sorted(
        zip(result.categories, result.reference_shares, result.current_shares, strict=True),
        key=lambda item: -(item[1] + item[2]),
    )
    if len(pairs) > MAX_CATEGORIES:
        rest = pairs[MAX_CATEGORIES - 1 :]
        pairs = [*pairs[: MAX_CATEGORIES - 1], ("(other)", sum(p[1] for p in rest), sum(p[2] for p in rest))]
    top = max((max(ref, cur) for _, ref, cur in pairs), default=1.0) or 1.0
    slot = (WIDTH - 2 * PAD) / max(1, len(pairs))
    body = ""
    for index, (name, ref, cur) in enumerate(pairs):
        left = PAD + index * slot
        for offset, share, css in ((0.1, ref, "ref"), (0.5, cur, "curbar")):
            height = share / top * (HEIGHT - 2 * PAD)
            body += (
                f'<rect class="{css}" x="{left + offset * slot:.1f}" y="{HEIGHT - PAD - height:.1f}" '
                f'width="{0.4 * slot:.1f}" height="{height:.1f}"><title>{html.escape(name)}: {share:.1%}</title></rect>'
            )
    return _svg(body, pairs[0][0] if pairs else "", pairs[-1][0] if len(pairs) > 1 else "")


def _number(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)
