from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lockship.commands import schema_infer
from lockship.core.data.schema import load_schema
from lockship.core.data.tabular import read_table
from lockship.core.data.validation import validate_frame
from lockship.core.errors import LockshipError


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    frame = pd.DataFrame(
        {
            "x": [0.5, 1.5, None],
            "n": [3, 1, 2],
            "ok": [True, False, True],
            "colour": ["red", "blue", "red"],
            "label": [1, 0, 1],
        }
    )
    frame.to_csv("data.csv", index=False)
    return tmp_path / "data.csv"


def test_inferred_schema_accepts_its_own_data(data: Path) -> None:
    assert schema_infer.main(["data.csv", "--target", "label", "--min-rows", "2"]) == 0
    schema = load_schema("schema.yaml")
    assert validate_frame(read_table("data.csv"), schema) == []
    by_name = {rule.name: rule for rule in schema.columns}
    assert (by_name["x"].dtype, by_name["x"].nullable, by_name["x"].minimum, by_name["x"].maximum) == (
        "float64", True, 0.5, 1.5,
    )  # fmt: skip
    assert by_name["n"].dtype == "int64" and not by_name["n"].nullable
    assert by_name["ok"].dtype == "bool"
    assert by_name["colour"].allowed == ("blue", "red")
    assert by_name["label"].allowed == (0, 1) and by_name["label"].minimum is None
    assert schema.target == "label" and schema.min_rows == 2 and schema.files == ("data.csv",)
    # Observed ranges are not laws: features flag what lies outside them, the target refuses it.
    assert by_name["x"].outside == by_name["colour"].outside == "flag" and by_name["label"].outside == "reject"
    assert schema.min_rows_counts == "all_files"


def test_identifiers_free_text_and_constants_are_proposed_for_dropping(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = 12
    frame = pd.DataFrame(
        {
            "Order ID": [f"A{i}" for i in range(rows)],
            "comment": [f"the parcel number {i} came late" for i in range(rows)],
            "shop": ["one"] * rows,
            "label": [i % 2 for i in range(rows)],
        }
    )
    frame.to_csv(data, index=False)
    assert schema_infer.main(["data.csv", "--target", "label"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "data.csv: column 'Order ID': identifier-like: every row has a different value; "
        "consider dropping it (prepare.columns.drop, then --params)",
        "data.csv: column 'comment': free text: 6.0 words a value on average; "
        "consider dropping it (prepare.columns.drop, then --params)",
        "data.csv: column 'shop': constant: a single value; consider dropping it (prepare.columns.drop, then --params)",
    ]


def test_params_columns_and_dates_apply_before_inference(data: Path) -> None:
    frame = pd.read_csv(data).assign(day=["2024-01-31", None, "2023-12-01"])
    frame.to_csv(data, index=False)
    Path("params.yaml").write_text("prepare:\n  columns:\n    drop: [ok, 'n*']\n  dates: expand\n")
    assert schema_infer.main(["data.csv", "--target", "label", "--params", "params.yaml"]) == 0
    schema = load_schema("schema.yaml")
    names = [rule.name for rule in schema.columns]
    assert names == ["x", "colour", "label", "day_year", "day_month", "day_day", "day_weekday"]
    year = schema.column("day_year")
    assert year is not None and (year.minimum, year.maximum, year.nullable) == (2023, 2024, True)


def test_does_not_overwrite_without_force(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("schema.yaml").write_text("mine\n")
    assert schema_infer.main(["data.csv"]) == 2
    assert "schema.yaml: already exists; pass --force to overwrite it" in capsys.readouterr().err
    assert Path("schema.yaml").read_text() == "mine\n"
    assert schema_infer.main(["data.csv", "--force"]) == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["data.csv", "--target", "y"], 2, "--target: no column 'y' in the data"),
        (["missing.csv"], 1, "missing.csv: file not found"),
        (["data.csv", "--min-rows", "-1"], 2, "--min-rows: must be 0 or more"),
    ],
)
def test_bad_input(args: list[str], code: int, message: str, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schema_infer.main(args) == code
    assert capsys.readouterr().err.strip() == message
    assert not Path("schema.yaml").exists()


@pytest.mark.parametrize("dataset", ["breast_cancer", "iris"])
def test_the_readme_min_rows_example_passes_the_validate_stage(
    dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params_file: Path
) -> None:
    """`--min-rows 100` counts the rows of the train and test splits together: iris's 30-row test split passes."""
    from lockship.stages import prepare, validate
    from tests.stages.conftest import set_params

    monkeypatch.chdir(tmp_path)
    Path("data").mkdir()
    prepare.load_source(f"sklearn:{dataset}").to_csv("data/raw.csv", index=False)
    set_params(params_file, "prepare", source="data/raw.csv")
    assert prepare.main(["--params", str(params_file), "--train", "train.csv", "--test", "test.csv"]) == 0
    readme = "data/raw.csv --target target --params params.yaml --min-rows 100 -o schema.yaml --force"
    assert schema_infer.main(readme.split()) == 0
    schema = load_schema("schema.yaml")
    reports = validate.validate_files(["train.csv", "test.csv"], schema, max_reported=5)
    assert sum(report.rows for report in reports) == len(read_table("data/raw.csv"))
    if dataset == "iris":  # counted per file, the 30-row test split would fail
        assert schema_infer.main([*readme.split(), "--min-rows-counts", "each_file"]) == 0
        with pytest.raises(LockshipError, match=r"test\.csv: 30 data row"):
            validate.validate_files(["train.csv", "test.csv"], load_schema("schema.yaml"), max_reported=5)
