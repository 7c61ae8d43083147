"""lockship drift: exit codes, the three reports, one-line errors, and shifted traffic through a real server."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from lockship.cli import main as cli
from lockship.commands import drift
from tests.conftest import REPO_ROOT
from tests.monitoring.conftest import draw, write_log, write_profile
from tests.serving import conftest as serving
from tests.serving.conftest import Trained, start_server

trained = serving.trained


@pytest.fixture
def profile_path(tmp_path: Path) -> Path:
    return write_profile(tmp_path / "profile.json", draw(20_000, seed=1), bins=10)


def test_quiet_data_exits_0_and_writes_three_reports(
    profile_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path / "log", draw(20_000, seed=2))
    out = tmp_path / "reports"
    assert drift.main([str(log), "--profile", str(profile_path), "-o", str(out)]) == 0
    assert capsys.readouterr().out == (
        f"no drift in 20,000 rows against {profile_path}; report: {out / 'drift.html'}\n"
    )
    report = json.loads((out / "drift.json").read_text())
    assert report["drifted"] == [] and report["rows"] == 20_000 and set(report["features"]) == set(draw(1, 1).columns)
    assert (out / "drift.md").read_text().startswith("# Drift: no drift in 20,000 rows")


def test_drift_exits_1_names_the_feature_and_leads_the_reports(
    profile_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = draw(20_000, seed=3)
    current["skewed"] *= 1.5
    current.to_csv(tmp_path / "current.csv", index=False)
    out = tmp_path / "reports"
    assert drift.main([str(tmp_path / "current.csv"), "--profile", str(profile_path), "-o", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("skewed: PSI ") and "mean +" in lines[0]
    assert lines[1].startswith("1 of 5 features drifted in 20,000 rows")
    page = (out / "drift.html").read_text()
    assert re.findall(r"<h2>([^<]+)</h2>", page) == ["skewed", "normal", "uniform", "counts", "wide"]
    assert page.count("<svg") == 5
    # Self-contained: nothing fetched from elsewhere.
    assert not re.search(r"<script|<link|<img|src=|href=|url\(", page)
    assert re.findall(r"https?://[^\"']+", page) == ["http://www.w3.org/2000/svg"] * 5
    assert json.loads((out / "drift.json").read_text())["order"][0] == "skewed"
    # Every shape lies inside its chart.
    for name, value in re.findall(r'\b(x|y|width|height)="(-?[0-9.]+)"', page):
        assert 0 <= float(value) <= (560 if name in ("x", "width") else 180), (name, value)
    for points in re.findall(r'points="([^"]+)"', page):
        for point in points.split():
            x, y = map(float, point.split(","))
            assert 0 <= x <= 560 and 0 <= y <= 180


def test_the_typed_layer_returns_the_comparison(profile_path: Path, tmp_path: Path) -> None:
    current = draw(20_000, seed=3)
    current["uniform"] += 0.1
    current.to_csv(tmp_path / "current.csv", index=False)
    report = drift.run_drift([str(tmp_path / "current.csv")], profile=str(profile_path), params=None,
                             output=tmp_path / "out")  # fmt: skip
    (result,) = report.drifted
    assert result.name == "uniform" and result.out_of_range_share == pytest.approx(0.1, abs=0.01)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["drift.html", "drift.json", "drift.md"]


def test_thresholds_come_from_params_yaml_in_the_current_directory(
    profile_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    current = draw(20_000, seed=3)
    current["skewed"] *= 1.5
    current.to_parquet(tmp_path / "current.parquet")
    monkeypatch.chdir(tmp_path)
    limits = {"psi": 10, "ks": 1, "mean_shift": 10, "out_of_range": 1}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"lockship": {"drift": {"features": {"skewed": limits}}}}))
    assert cli(["drift", "current.parquet", "--profile", str(profile_path)]) == 0
    assert (tmp_path / "reports" / "drift" / "drift.json").exists()
    (tmp_path / "params.yaml").write_text("lockship:\n  drift:\n    features:\n      area: {psi: 1}\n")
    assert cli(["drift", "current.parquet", "--profile", str(profile_path)]) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert error == "params.yaml:4: lockship.drift.features.area: not a feature of the profile"


def test_damage_is_a_note_not_a_failure(profile_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "log", draw(5000, seed=4))
    path = log / "inputs.log"
    path.write_bytes(path.read_bytes()[:-8])
    write_log(log, draw(20_000, seed=5))
    assert drift.main([str(log), "--profile", str(profile_path), "-o", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    damage, prediction, bins = captured.err.splitlines()
    assert re.fullmatch(rf"note: {re.escape(str(path))}: byte 0: the entry is cut short: .*", damage)
    # What the profile lacks, and how to get it: one line each.
    assert prediction.startswith("note: prediction drift: not checked: the profile has no test-set class-probability")
    assert bins == (
        f"note: {profile_path}: 10 bins per numeric feature: KS sees changes only at those edges; "
        "set evaluate.profile_bins to 100 in params.yaml and run `dvc repro evaluate`"
    )
    assert captured.out.startswith("no drift in 20,000 rows")
    assert json.loads((tmp_path / "out" / "drift.json").read_text())["skipped"]["stretches"] == 1


def test_errors_are_one_line_without_a_traceback(profile_path: Path, tmp_path: Path) -> None:
    other = write_log(tmp_path / "log", draw(100, seed=2).rename(columns={"normal": "radius"}))
    for arguments, expected in [
        ([str(other), "--profile", str(profile_path)], "the logged features differ from the profile's"),
        ([str(other), "--profile", str(tmp_path / "none.json")], "none.json: file not found; regenerate it with"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "lockship", "drift", *arguments, "-o", str(tmp_path / "out")],
            capture_output=True, text=True, cwd=tmp_path, check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert expected in result.stderr and len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        drift.main([])
    assert exit_info.value.code == 2
    assert "CURRENT" in capsys.readouterr().err


def _traffic(trained: Trained, rows: int, seed: int) -> pd.DataFrame:
    """Rows drawn from the training set: the traffic the profile describes."""
    train = pd.read_csv(trained.work / "train.csv").drop(columns=["target"])
    return train.sample(rows, replace=True, random_state=seed).reset_index(drop=True)


def _serve(trained: Trained, log_dir: Path, traffic: pd.DataFrame) -> None:
    server = start_server(trained.model_dir, log_dir, "--workers", "1")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for start in range(0, len(traffic), 500):
                part = traffic.iloc[start : start + 500]
                records = [{str(k): float(v) for k, v in row.items()} for row in part.to_dict("records")]
                assert client.post("/predict", json={"records": records}).status_code == 200
    finally:
        assert server.stop() == 0, server.output()


@pytest.mark.parametrize(("change", "feature"), [(None, None), ("shift", "mean radius"), ("scale", "worst texture")])
def test_a_real_server_log_shows_exactly_the_shifted_feature(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str | None, feature: str | None
) -> None:
    traffic = _traffic(trained, 4000, seed=1)
    if feature is not None:
        column = traffic[feature]
        changed = column + 0.3 * column.std() if change == "shift" else column * 1.5
        # The server refuses values outside the schema's range with a 422, so they never reach the log.
        schema = yaml.safe_load((REPO_ROOT / "schema.yaml").read_text())["columns"][feature]
        traffic[feature] = np.clip(changed, schema["min"], schema["max"])
    _serve(trained, tmp_path / "log", traffic)
    code = drift.main([str(tmp_path / "log"), "--profile", str(trained.model_dir / "profile.json"),
                       "--params", str(REPO_ROOT / "params.yaml"), "-o", str(tmp_path / "out")])  # fmt: skip
    report = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert report["rows"] == 4000
    assert report["drifted"] == ([] if feature is None else [feature]), capsys.readouterr().out
    assert code == (0 if feature is None else 1)


def test_a_progress_bar_on_a_terminal_for_large_inputs_only(profile_path: Path, tmp_path: Path) -> None:
    log = write_log(tmp_path / "log", draw(450_000, seed=6))  # 18 MB, over the 16 MiB from which a bar shows
    command = [sys.executable, "-m", "lockship", "drift", str(log), "--profile", str(profile_path)]
    outputs = []
    for terminal in (True, False):
        primary, secondary = pty.openpty()
        stderr = secondary if terminal else subprocess.PIPE
        process = subprocess.Popen([*command, "-o", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=stderr)
        os.close(secondary)
        seen = b""
        while terminal:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        out, err = process.communicate(timeout=120)
        os.close(primary)
        assert process.returncode == 0, out + err if err else out
        outputs.append(seen if terminal else err)
    assert b"drift:" in outputs[0] and b"B/s" in outputs[0]
    assert b"B/s" not in outputs[1]
