"""Current data from logs, CSV and Parquet: bad inputs are one line each, damage is skipped and counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import parquet

from lockship.core.errors import LockshipError
from lockship.monitoring.compare import compare
from lockship.monitoring.reference import read_profile
from lockship.monitoring.thresholds import Thresholds
from lockship.serving.inputlog import InputLog, InputLogConfig
from lockship.serving.logformat import LOG_NAME
from tests.monitoring.conftest import draw, write_log, write_profile


@pytest.fixture
def profile_path(tmp_path: Path) -> Path:
    frame = draw(5000, seed=1).assign(colour=np.array(["red", "green", "blue", "blue"] * 1250))
    return write_profile(tmp_path / "profile.json", frame, bins=20)


@pytest.fixture
def numeric_profile(tmp_path: Path) -> Path:
    return write_profile(tmp_path / "numeric.json", draw(5000, seed=1), bins=20)


def problem(profile: Path, *sources: Path) -> str:
    with pytest.raises(LockshipError) as error:
        compare(read_profile(profile), [str(source) for source in sources], thresholds=Thresholds())
    (line,) = error.value.problems
    return line


def test_csv_and_parquet_give_the_same_result_as_the_log(profile_path: Path, tmp_path: Path) -> None:
    frame = draw(3000, seed=2).assign(colour=np.array(["red", "green", "blue", "blue", "violet"] * 600))
    frame.to_csv(tmp_path / "current.csv", index=False)
    frame.to_parquet(tmp_path / "current.parquet")
    reports = [
        compare(read_profile(profile_path), [str(tmp_path / name)], thresholds=Thresholds())
        for name in ("current.csv", "current.parquet")
    ]
    for report in reports:
        assert report.rows == 3000
        colour = next(result for result in report.features if result.name == "colour")
        assert colour.out_of_range_share == pytest.approx(0.2)  # 'violet' was never seen in training
        assert colour.reasons[0].startswith("PSI ") and colour.reasons[1:] == ["20.0% unseen categories > 1.0%"]
    assert [r.name for r in reports[0].features] == [r.name for r in reports[1].features]
    assert [r.psi for r in reports[0].features] == [r.psi for r in reports[1].features]


def test_a_current_file_with_missing_columns_is_one_line(profile_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "current.csv"
    draw(100, seed=2).drop(columns=["skewed"]).to_csv(path, index=False)
    assert problem(profile_path, path) == (
        f"{path}: missing column(s) the profile has: skewed, colour; is the profile from another model?"
    )
    path = tmp_path / "current.parquet"
    draw(100, seed=2).assign(colour="red").drop(columns=["wide"]).to_parquet(path)
    assert problem(profile_path, path) == (
        f"{path}: missing column(s) the profile has: wide; is the profile from another model?"
    )


def test_a_profile_from_another_model_is_one_line(numeric_profile: Path, tmp_path: Path) -> None:
    log = write_log(tmp_path / "log", draw(100, seed=2).rename(columns={"wide": "area"}))
    assert problem(numeric_profile, log) == (
        f"{log / LOG_NAME}: the logged features differ from the profile's: it lacks wide; has area besides; "
        "is the profile from another model?"
    )


def test_an_empty_log_directory_is_one_line(numeric_profile: Path, tmp_path: Path) -> None:
    (tmp_path / "log").mkdir()
    assert problem(numeric_profile, tmp_path / "log") == (
        f"{tmp_path / 'log'}: no input log here (expected {LOG_NAME} from `lockship serve --input-log`)"
    )
    (tmp_path / "log" / LOG_NAME).write_bytes(b"")
    assert problem(numeric_profile, tmp_path / "log") == (
        f"{tmp_path / 'log'}: no rows to compare; has the server logged any input yet?"
    )


def test_damaged_entries_are_skipped_and_counted(numeric_profile: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    write_log(log, draw(300, seed=2))
    path = log / LOG_NAME
    whole = path.read_bytes()
    path.write_bytes(whole[:-100] + b"garbage in the middle")  # the first entry cut short: a crash mid-write
    write_log(log, draw(200, seed=3))  # the server went on appending after it
    report = compare(read_profile(numeric_profile), [str(log)], thresholds=Thresholds())
    assert report.rows == 200
    (damage,) = report.skipped.problems
    assert damage.startswith(f"{path}: byte 0: the entry is cut short")
    assert report.skipped.bytes == len(whole) - 100 + len(b"garbage in the middle")


def test_only_damage_is_one_line(numeric_profile: Path, tmp_path: Path) -> None:
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / LOG_NAME).write_bytes(b'\x1eLOCKSHIP-LOG {"time": 1}\n')
    assert problem(numeric_profile, tmp_path / "log") == (
        f"{tmp_path / 'log'}: no rows to compare (1 damaged stretch(es) skipped); has the server logged any input yet?"
    )


def test_bad_values_and_paths_are_one_line(numeric_profile: Path, tmp_path: Path) -> None:
    path = tmp_path / "current.csv"
    path.write_text("normal,skewed,uniform,counts,wide\n1,2,3,4,5\n1,2,three,4,5\n")
    assert "CSV conversion error to double: invalid value 'three'" in problem(numeric_profile, path)
    assert problem(numeric_profile, tmp_path / "absent.csv") == f"{tmp_path / 'absent.csv'}: no such file or directory"
    (tmp_path / "data.json").write_text("{}")
    assert problem(numeric_profile, tmp_path / "data.json") == (
        f"{tmp_path / 'data.json'}: expected an input-log directory or a .csv/.parquet file"
    )
    table = pa.table({name: ["x"] for name in draw(1, seed=1).columns})
    parquet.write_table(table, tmp_path / "text.parquet")
    assert problem(numeric_profile, tmp_path / "text.parquet") == (
        f"{tmp_path / 'text.parquet'}: column 'normal' is string, expected numbers as in the profile"
    )
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    assert problem(numeric_profile, tmp_path / "broken.parquet").startswith(
        f"{tmp_path / 'broken.parquet'}: not a readable Parquet file: "
    )


def test_missing_cells_in_a_csv_are_missing_values(numeric_profile: Path, tmp_path: Path) -> None:
    frame = draw(1000, seed=4)
    frame.loc[frame.index[:500], "uniform"] = np.nan
    frame.to_csv(tmp_path / "current.csv", index=False)
    report = compare(read_profile(numeric_profile), [str(tmp_path / "current.csv")], thresholds=Thresholds())
    assert [(r.name, r.missing_share) for r in report.drifted] == [("uniform", 0.5)]


def test_a_json_log_of_a_model_with_text_features(profile_path: Path, tmp_path: Path) -> None:
    frame = draw(4000, seed=5).assign(colour=np.array(["red", "green", "blue", "blue"] * 1000))
    frame.loc[frame.index[:2000], "colour"] = "red"  # half the traffic turns red
    log = InputLog(InputLogConfig(tmp_path / "log"), list(frame.columns))
    rows = frame.astype(object).to_numpy().tolist()
    log.append(rows, len(rows))
    log.flush()
    report = compare(read_profile(profile_path), [str(tmp_path / "log")], thresholds=Thresholds())
    assert report.rows == 4000 and [result.name for result in report.drifted] == ["colour"]
    colour = report.drifted[0]
    assert colour.chi2 is not None and colour.chi2 > 100 and colour.out_of_range_share == 0.0
