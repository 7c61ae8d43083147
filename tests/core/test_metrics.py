"""Metrics files flattened, compared under the rules, and shown as a Markdown table."""

from __future__ import annotations

import pytest

from lockship.core import metrics as metrics_core
from lockship.core.config import GateMetricsConfig, Rule
from lockship.core.errors import LockshipError


def test_compare_flags_regressions_and_one_sided_metrics() -> None:
    config = GateMetricsConfig(rules={"accuracy": Rule(max_drop=0.01), "f1": Rule(minimum=0.5)})
    base = {("m.json", "accuracy"): 0.9, ("m.json", "f1"): 0.8, ("m.json", "old"): 1.0}
    new = {("m.json", "accuracy"): 0.85, ("m.json", "extra"): 2.0}
    rows = {row.metric: row for row in metrics_core.compare(base, new, config, base_label="base")}
    assert rows["accuracy"].verdict.startswith("FAIL") and rows["accuracy"].delta == pytest.approx(-0.05)
    assert rows["f1"].problem == "m.json: metric 'f1' is on base but missing from the pushed commit"
    assert (rows["old"].verdict, rows["old"].problem) == ("removed", "")  # not gated: shown, not blocking
    assert (rows["extra"].verdict, rows["extra"].problem) == ("new", "")


def test_markdown_table_has_every_column() -> None:
    row = metrics_core.Row("accuracy", 0.9, 0.95, 0.05, "higher is better", "pass")
    table = metrics_core.markdown_table([row]).splitlines()
    assert table[0] == "| metric | base | new | delta | rule | verdict |"
    assert table[2] == "| accuracy | 0.9 | 0.95 | +0.05 | higher is better | pass |"


def test_parse_metrics_flattens_nested_numbers_and_reports_bad_json() -> None:
    assert metrics_core.parse_metrics(b'{"a": {"b": 1, "c": "x"}, "d": true}', "m.json@abc") == {"a.b": 1.0}
    assert metrics_core.parse_metrics(b"a:\n  b: 2\n", "m.yaml@abc") == {"a.b": 2.0}
    with pytest.raises(Exception, match=r"^m.json@abc:2: not valid JSON"):
        metrics_core.parse_metrics(b'{"a": 1,\n oops}', "m.json@abc")


def test_only_finite_numbers_are_metrics() -> None:
    assert [metrics_core.is_number(v) for v in (1, 0.5, True, float("nan"), float("inf"), "1")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_leaves_that_are_not_numbers_are_described_and_deep_nesting_is_one_line() -> None:
    others: dict[str, str] = {}
    data = b'{"a": NaN, "b": {"c": "n/a", "d": true, "e": [1]}, "f": 1}'
    assert metrics_core.parse_metrics(data, "m.json@abc", others) == {"f": 1.0}
    assert others == {"a": "NaN", "b.c": "a string ('n/a')", "b.d": "a boolean (true)"}
    with pytest.raises(LockshipError) as error:
        metrics_core.parse_metrics(b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "m.json@abc")
    assert error.value.problems == ("m.json@abc: nested too deep to be a metrics file",)
