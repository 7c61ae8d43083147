from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from lockship.core.errors import LockshipError
from lockship.stages import prepare
from tests.conftest import billion_laughs
from tests.stages.conftest import outputs_in, set_params, small_frame


def run_prepare(tmp_path: Path, params: Path) -> int:
    return prepare.main(
        ["--params", str(params), "--train", str(tmp_path / "out/train.csv"), "--test", str(tmp_path / "out/test.csv")]
    )


def test_bundled_dataset_split_is_stratified_and_deterministic(tmp_path: Path, params_file: Path) -> None:
    assert run_prepare(tmp_path, params_file) == 0
    train = pd.read_csv(tmp_path / "out/train.csv")
    test = pd.read_csv(tmp_path / "out/test.csv")
    assert (len(train), len(test)) == (455, 114)
    assert train["target"].mean() == pytest.approx(test["target"].mean(), abs=0.01)
    first = (tmp_path / "out/train.csv").read_bytes()
    assert run_prepare(tmp_path, params_file) == 0
    assert (tmp_path / "out/train.csv").read_bytes() == first
    assert outputs_in(tmp_path / "out") == ["test.csv", "train.csv"]


def test_seed_changes_the_split(tmp_path: Path, params_file: Path) -> None:
    run_prepare(tmp_path, params_file)
    first = (tmp_path / "out/train.csv").read_bytes()
    set_params(params_file, "prepare", seed=7)
    run_prepare(tmp_path, params_file)
    assert (tmp_path / "out/train.csv").read_bytes() != first


def test_user_csv_and_parquet_sources(tmp_path: Path, params_file: Path) -> None:
    frame = small_frame()
    frame.to_csv(tmp_path / "data.csv", index=False)
    frame.to_parquet(tmp_path / "data.parquet")
    for source in ("data.csv", "data.parquet"):
        set_params(params_file, "prepare", source=str(tmp_path / source), target="label", test_size=0.25)
        assert run_prepare(tmp_path, params_file) == 0
        train = pd.read_csv(tmp_path / "out/train.csv")
        assert list(train.columns) == ["height", "weight", "colour", "label"]
        assert len(train) == 30


def test_split_core_reports_a_class_with_one_row() -> None:
    frame = small_frame()
    frame.loc[0, "label"] = "maybe"
    with pytest.raises(LockshipError, match=r"d.csv: column 'label': class\(es\) 'maybe' have a single row"):
        prepare.split(frame, source="d.csv", target="label", test_size=0.25, seed=1)


def test_split_core_needs_a_row_of_every_class_in_both_sets() -> None:
    with pytest.raises(LockshipError, match="both sets need a row of every class"):
        prepare.split(small_frame(10), source="d.csv", target="label", test_size=0.1, seed=1)


BAD_SOURCES = {
    "corrupt": (
        b"height,weight,label\n1,2,yes\n3,4,no,extra\n",
        r"data.csv:3: expected 3 fields as in the header, saw 4",
    ),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", r"data.csv:1: not UTF-8 text"),
    "empty": (b"", r"data.csv: file is empty"),
    "blank-lines": (b"\n\n", r"data.csv: no header row"),
    "header-only": (b"height,weight,label\n", r"data.csv: header only, no data rows"),
    "no-target": (
        b"height,weight\n1,2\n3,4\n",
        r"data.csv: no target column 'label' \(prepare.target\); columns are: height, weight",
    ),
    "single-class": (b"height,label\n" + b"1,yes\n" * 10, r"data.csv: column 'label': a single class \('yes'\)"),
    "missing-target": (
        b"height,label\n1,yes\n2,\n3,no\n4,no\n5,yes\n",
        r"data.csv: column 'label': missing target value in row\(s\) 2",
    ),
    "duplicate-header": (b"a,a,label\n1,2,yes\n", r"data.csv:1: duplicate column name\(s\) in the header: a"),
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_source_fails_with_one_line_and_writes_nothing(
    case: str, tmp_path: Path, params_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, message = BAD_SOURCES[case]
    (tmp_path / "data.csv").write_bytes(content)
    set_params(params_file, "prepare", source=str(tmp_path / "data.csv"), target="label")
    assert run_prepare(tmp_path, params_file) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


BAD_PARAMS = {
    "out-of-range": ({"test_size": 1.5}, r"params.yaml:\d+: prepare.test_size: must be less than 1.0, got 1.5"),
    "mistyped": ({"seed": "forty-two"}, r"params.yaml:\d+: prepare.seed: expected an integer, got 'forty-two'"),
    "bool-for-int": ({"seed": True}, r"prepare.seed: expected an integer, got True"),
    "typo-key": ({"test_sise": 0.2}, r"params.yaml:\d+: prepare.test_sise: unknown key"),
    "unknown-dataset": ({"source": "sklearn:mnist"}, r"sklearn:mnist: unknown bundled dataset"),
    "missing-file": ({"source": "nowhere.csv"}, r"nowhere.csv: file not found"),
    "wrong-suffix": ({"source": "data.xlsx"}, r"data.xlsx: unsupported file type '.xlsx'"),
}


@pytest.mark.parametrize("case", sorted(BAD_PARAMS))
def test_bad_params_fail_with_one_line_and_write_nothing(
    case: str, tmp_path: Path, params_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    values, message = BAD_PARAMS[case]
    set_params(params_file, "prepare", **values)
    assert run_prepare(tmp_path, params_file) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


def test_every_params_problem_is_reported_at_once(
    tmp_path: Path, params_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_params(params_file, "prepare", seed=-1, test_size=0)
    assert run_prepare(tmp_path, params_file) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 1)[1] for line in err] == [
        "prepare.test_size: must be greater than 0.0, got 0.0",
        "prepare.seed: must be at least 0, got -1",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"^params.yaml: file not found$"),
        ("prepare: [1, 2\n", r"^params.yaml:2:1: invalid YAML: did not find expected ',' or ']'$"),
        ("train: {}\n", r"^params.yaml:1: section 'prepare': missing$"),
        ("prepare: 3\n", r"^params.yaml:1: section 'prepare': expected a mapping, got 3$"),
        ("prepare:\n  seed: 1\n  seed: 2\n", r"^params.yaml:3:3: duplicate key 'seed'$"),
        ("loop: &loop [*loop]\n", r"^params.yaml:1: YAML alias \*loop is inside its own anchor \(recursive\)$"),
        (billion_laughs() + "prepare: {}\n", r"^params.yaml:5: YAML aliases expand too far \(over 100000 nodes\)$"),
    ],
)
def test_missing_or_malformed_params_file(
    content: str | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / "params.yaml").write_text(content)
    assert run_prepare(tmp_path, Path("params.yaml")) == 1
    err = capsys.readouterr().err.strip()
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        prepare.main(["--params", "params.yaml"])
    assert exit_info.value.code == 2
    assert "--train" in capsys.readouterr().err


def test_columns_and_dates_from_params_shape_the_split(
    tmp_path: Path, params_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = small_frame().assign(
        **{"Visit ID": range(40), "visited (date)": [f"2024-0{1 + i % 9}-15" for i in range(40)]}
    )
    frame.to_csv(tmp_path / "raw.csv", index=False)
    set_params(params_file, "prepare", source=str(tmp_path / "raw.csv"), target="label")
    set_params(params_file, "prepare", columns={"keep": [], "drop": ["Visit*", "colour"]}, dates="expand")
    assert run_prepare(tmp_path, params_file) == 0
    train = pd.read_csv(tmp_path / "out/train.csv")
    assert list(train.columns) == ["height", "weight", "label", *(f"visited (date)_{p}" for p in
                                                                 ("year", "month", "day", "weekday"))]  # fmt: skip
    set_params(params_file, "prepare", columns={"drop": ["visitor*"]})
    capsys.readouterr()
    assert run_prepare(tmp_path, params_file) == 1
    assert capsys.readouterr().err == f"{params_file}: prepare.columns.drop: 'visitor*' matches no column\n"
