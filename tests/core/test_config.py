"""lockship's hook settings: parsing with line-aware errors, and what each rule lets through."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.config import GateMetricsConfig, Rule, load_config
from lockship.core.errors import EXIT_USAGE, LockshipError

NEEDS = "a rule needs at least one of min, max, max_drop, max_relative_drop"


def write(tmp_path: Path, text: str, name: str = "params.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(LockshipError) as raised:
        load_config(path)
    return raised.value.problems


def test_defaults_without_file_or_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None).gate_metrics == GateMetricsConfig()  # no params.yaml at all
    write(tmp_path, "train:\n  seed: 1\n")
    assert load_config(None).gate_metrics == GateMetricsConfig()
    write(tmp_path, "lockship:\n  other_hook: {x: 1}\n")  # keys of other hooks are theirs to check
    assert load_config(None).gate_metrics.rules == {}


def test_full_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "train: {seed: 1}\n"
        "lockship:\n"
        "  gate_metrics:\n"
        "    missing_base: fail\n"
        "    metrics:\n"
        "      accuracy: {min: 0.9, max_drop: 0.01, max_relative_drop: 0.02}\n"
        "      'eval/m.json:loss': {direction: lower, max: 1}\n",
    )
    config = load_config(path).gate_metrics
    assert config.missing_base == "fail"
    assert config.source == f"{path}:3"
    assert config.rules == {
        "accuracy": Rule(minimum=0.9, max_drop=0.01, max_relative_drop=0.02),
        "eval/m.json:loss": Rule(direction="lower", maximum=1.0),
    }
    assert config.rule_for("eval/m.json", "loss") == Rule(direction="lower", maximum=1.0)
    assert config.rule_for("other.json", "loss") is None
    assert config.rule_for("other.json", "accuracy") == config.rules["accuracy"]


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "lockship:\n"
        "  gate_metrics:\n"
        "    missing_base: maybe\n"
        "    metrics:\n"
        "      accuracy:\n"
        "        direction: up\n"
        "        max_drop: -1\n"
        "        tolerance: 3\n"
        "      f1: {}\n"
        "      auc: {min: 2, max: 1}\n"
        "      loss: 0.5\n",
    )
    assert problems(path) == (
        f"{path}:3: lockship.gate_metrics.missing_base: 'maybe' is not one of 'pass', 'fail'",
        f"{path}:6: lockship.gate_metrics.metrics.accuracy.direction: 'up' is not one of 'higher', 'lower'",
        f"{path}:7: lockship.gate_metrics.metrics.accuracy.max_drop: must be at least 0, got -1.0",
        f"{path}:10: lockship.gate_metrics.metrics.auc.min: min 2 is above max 1",
        f"{path}:9: lockship.gate_metrics.metrics.f1: {NEEDS}",
        f"{path}:11: lockship.gate_metrics.metrics.loss: expected a mapping, got 0.5",
        f"{path}:8: lockship.gate_metrics.metrics.accuracy.tolerance: unknown key",
    )


def test_malformed_yaml_and_wrong_shapes(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "lockship:\n  gate_metrics: {metrics: [\n")) == (
        f"{tmp_path / 'params.yaml'}:3:1: invalid YAML: did not find expected node content",
    )
    assert problems(write(tmp_path, "- a\n")) == (
        f"{tmp_path / 'params.yaml'}:1: expected a mapping with a 'lockship' section",
    )
    assert problems(write(tmp_path, "lockship: 3\n")) == (
        f"{tmp_path / 'params.yaml'}:1: lockship: expected a mapping, got 3",
    )
    assert problems(write(tmp_path, "lockship:\n  gate_metrics: [1]\n")) == (
        f"{tmp_path / 'params.yaml'}:2: lockship.gate_metrics: expected a mapping, got [1]",
    )


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(LockshipError) as raised:
        load_config(tmp_path / "lockship.yaml")
    assert raised.value.problems == (f"{tmp_path / 'lockship.yaml'}: config file not found",)
    assert raised.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    ("rule", "base", "new", "ok"),
    [
        (Rule(max_drop=0.01), 0.90, 0.89, True),  # exactly the tolerance
        (Rule(max_drop=0.01), 0.90, 0.8899, False),
        (Rule(max_relative_drop=0.1), 0.5, 0.45, True),
        (Rule(max_relative_drop=0.1), 0.5, 0.44, False),
        (Rule(max_drop=0.001, max_relative_drop=0.1), 0.5, 0.46, True),  # the larger allowance wins
        (Rule(direction="lower", max_drop=0.05), 0.30, 0.35, True),
        (Rule(direction="lower", max_drop=0.05), 0.30, 0.36, False),
        (Rule(direction="lower", max_drop=0.05), 0.30, 0.01, True),  # lower loss is better
        (Rule(minimum=0.9), 0.95, 0.89, False),
        (Rule(minimum=0.9), None, 0.91, True),  # no base: bounds only
        (Rule(maximum=1.0, max_drop=0.0), None, 1.5, False),
        (Rule(minimum=0.0), 0.9, 0.1, True),  # no tolerance given: drops are not gated
    ],
)
def test_rule_verdicts(rule: Rule, base: float | None, new: float, ok: bool) -> None:
    verdict = rule.evaluate(base, new)
    assert verdict.ok is ok
    assert (verdict.reason == "") is ok
    assert verdict.delta == (None if base is None else pytest.approx(new - base))


def test_rule_describes_itself() -> None:
    rule = Rule(direction="lower", minimum=0, maximum=1, max_drop=0.05, max_relative_drop=0.1)
    assert rule.describe() == "lower is better, min 0, max 1, drop <= 0.05, drop <= 10.00%"
    assert Rule(max_drop=0.01).evaluate(0.95, 0.9).reason == "worse by 0.05, allowed 0.01"
