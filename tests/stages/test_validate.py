from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lockship.core.data.schema import load_schema
from lockship.stages import validate
from tests.conftest import REPO_ROOT

SCHEMA = """\
target: label
min_rows: 3
columns:
  height: {dtype: float64, nullable: false, min: 0, max: 250}
  weight: {dtype: int64, nullable: true}
  label: {dtype: str, allowed: ['no', 'yes']}
"""
GOOD = "height,weight,label\n170.5,70,yes\n160,,no\n180.25,90,yes\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("validate:\n  max_reported: 3\n")
    (tmp_path / "schema.yaml").write_text(SCHEMA)
    return tmp_path


def run_validate(*data: str) -> int:
    return validate.main(["--schema", "schema.yaml", "--report", "out/report.json", *data])


def test_valid_files_get_a_report(workdir: Path) -> None:
    (workdir / "a.csv").write_text(GOOD)
    (workdir / "b.csv").write_text(GOOD.replace("170.5", "171"))
    assert run_validate("a.csv", "b.csv") == 0
    report = json.loads((workdir / "out/report.json").read_text())
    assert report == {
        "schema": "schema.yaml",
        "valid": True,
        "files": [{"path": "a.csv", "rows": 3, "columns": 3}, {"path": "b.csv", "rows": 3, "columns": 3}],
    }


BAD = {
    "wrong-dtype": (
        "height,weight,label\n170,70,yes\ntall,80,no\n180,90,yes\n",
        [
            "d.csv: column 'height': dtype is str, expected float64",
            "d.csv: row 2, column 'height': 'tall' is not a number",
        ],
    ),
    "nan-not-allowed": (
        "height,weight,label\n170,70,yes\n,80,no\n180,90,yes\n",
        ["d.csv: row 2, column 'height': missing value where the schema does not allow one"],
    ),
    "out-of-range-and-class": (
        "height,weight,label\n-1,70,yes\n170,80,maybe\n999,90,yes\n",
        [
            "d.csv: row 1, column 'height': -1.0 is below the minimum 0.0",
            "d.csv: row 2, column 'label': 'maybe' is not an allowed value ('no', 'yes')",
            "d.csv: row 3, column 'height': 999.0 is above the maximum 250.0",
        ],
    ),
    "fractional-int": (
        "height,weight,label\n170,70.5,yes\n170,80,no\n170,90,yes\n",
        [
            "d.csv: column 'weight': dtype is float64, expected int64",
            "d.csv: row 1, column 'weight': 70.5 is not an integer",
        ],
    ),
    "columns": (
        "height,label,extra\n170,yes,1\n170,no,2\n170,yes,3\n",
        [
            "d.csv: column 'weight': missing: the schema requires this column",
            "d.csv: column 'extra': not in the schema (strict: true)",
        ],
    ),
    "too-few-rows": ("height,weight,label\n170,70,yes\n", ["d.csv: 1 data row(s), the schema requires at least 3"]),
    "header-only": ("height,weight,label\n", ["d.csv: 0 data row(s), the schema requires at least 3"]),
    "empty": ("", ["d.csv: file is empty"]),
    "corrupt": ("height,weight,label\n170,70\n1,2,3,4\n", ["d.csv:3: expected 3 fields as in the header, saw 4"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_violations_are_listed_one_per_line_and_nothing_is_written(
    case: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, expected = BAD[case]
    (workdir / "d.csv").write_text(content)
    assert run_validate("d.csv") == 1
    assert sorted(capsys.readouterr().err.splitlines()) == sorted(expected)
    assert not (workdir / "out").exists()


def test_output_is_capped_with_a_count_of_the_rest(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"{-i},70,yes\n" for i in range(1, 8))
    (workdir / "d.csv").write_text("height,weight,label\n" + rows)
    assert run_validate("d.csv") == 1
    assert capsys.readouterr().err.splitlines() == [
        "d.csv: row 1, column 'height': -1.0 is below the minimum 0.0",
        "d.csv: row 2, column 'height': -2.0 is below the minimum 0.0",
        "d.csv: row 3, column 'height': -3.0 is below the minimum 0.0",
        "d.csv: 4 more violation(s) not shown",
    ]


def test_every_file_is_checked_before_failing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "good.csv").write_text(GOOD)
    (workdir / "bad.csv").write_text(GOOD.replace("yes", "maybe", 1))
    assert run_validate("bad.csv", "missing.csv", "good.csv") == 1
    assert capsys.readouterr().err.splitlines() == [
        "bad.csv: row 1, column 'label': 'maybe' is not an allowed value ('no', 'yes')",
        "missing.csv: file not found",
    ]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("columns: {a: {dtype: float32}}\n", r"^schema.yaml:1: columns.a.dtype: 'float32' is not one of 'int64', "),
        ("columns: [1, 2\n", r"^schema.yaml:2:1: invalid YAML"),
        ("min_rows: 1\n", r"^schema.yaml:1: missing required key 'columns'$"),
        ("columns: {a: {dtype: str, min: 1}}\n", r"^schema.yaml:1: columns.a: min and max apply to numeric columns"),
        (
            "target: y\ncolumns: {a: {dtype: int64}}\n",
            r"^schema.yaml:1: target: 'y' is not one of the declared columns",
        ),
    ],
)
def test_malformed_schema(schema: str, message: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "schema.yaml").write_text(schema)
    (workdir / "d.csv").write_text(GOOD)
    assert run_validate("d.csv") == 1
    err = capsys.readouterr().err
    assert re.search(message, err, re.M), err
    assert not (workdir / "out").exists()


def test_reference_schema_accepts_the_bundled_data() -> None:
    from sklearn.datasets import load_breast_cancer

    from lockship.core.data.validation import validate_frame

    schema = load_schema(REPO_ROOT / "schema.yaml")
    assert validate_frame(load_breast_cancer(as_frame=True).frame, schema) == []
    assert schema.target == "target"
