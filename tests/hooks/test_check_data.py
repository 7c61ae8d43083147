"""check-data: staged data files that a schema governs are validated as the validate stage does."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.data.arrowcheck import read_csv_arrow, table_passes
from lockship.core.data.schema import Schema, load_schema
from lockship.core.data.validation import validate_file
from lockship.hooks.check_data import governed_files, main, may_hold
from lockship.stages.validate import validate_files
from tests.conftest import run

SCHEMA = """\
files: [data/*.csv]
min_rows: 2
target: label
columns:
  height: {dtype: float64, nullable: false, min: 100.0, max: 220.0}
  count: {dtype: int64, nullable: false, min: 0}
  colour: {dtype: str, nullable: true, allowed: [red, green, blue]}
  flag: {dtype: bool, nullable: false}
  label: {dtype: int64, nullable: false, allowed: [0, 1]}
"""
GOOD = "height,count,colour,flag,label\n150.5,3,red,True,0\n160,4,,False,1\n170.25,5,blue,true,1\n"


@pytest.fixture
def repo(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(git_repo)
    (git_repo / "schema.yaml").write_text(SCHEMA)
    (git_repo / "data").mkdir()
    return git_repo


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_a_valid_file_passes_on_the_fast_path(repo: Path) -> None:
    (repo / "data" / "a.csv").write_text(GOOD)
    table = read_csv_arrow("data/a.csv")
    assert table is not None and table_passes(table, load_schema("schema.yaml"))
    assert main(["data/a.csv"]) == 0


def test_violations_are_reported_exactly_as_the_validate_stage_does(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "data" / "a.csv").write_text(
        "height,count,colour,flag,label,extra\n150,3,red,True,0,x\n90,-1,pink,False,2,y\n180,abc,blue,true,1,z\n"
    )
    assert main(["data/a.csv"]) == 1
    expected = []
    try:
        validate_files(["data/a.csv"], load_schema("schema.yaml"), max_reported=50)
    except Exception as error:
        expected = list(getattr(error, "problems", ()))
    assert stderr_lines(capsys) == expected
    assert expected == [
        "data/a.csv: column 'extra': not in the schema (strict: true)",
        "data/a.csv: column 'count': dtype is str, expected int64",
        "data/a.csv: row 2, column 'height': 90.0 is below the minimum 100.0",
        "data/a.csv: row 2, column 'colour': 'pink' is not an allowed value ('red', 'green', 'blue')",
        "data/a.csv: row 2, column 'label': 2 is not an allowed value (0, 1)",
        "data/a.csv: row 3, column 'count': 'abc' is not a number",
    ]


def test_int_values_stay_ints_beside_float_failures(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "data" / "a.csv").write_text("height,count,colour,flag,label\n300,1,red,True,0\n150,1,red,True,2\n")
    assert main(["data/a.csv"]) == 1
    assert stderr_lines(capsys) == [
        "data/a.csv: row 1, column 'height': 300.0 is above the maximum 220.0",
        "data/a.csv: row 2, column 'label': 2 is not an allowed value (0, 1)",
    ]


def test_max_reported_limits_lines_per_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"{90 - i},1,red,True,0\n" for i in range(5))
    (repo / "data" / "a.csv").write_text("height,count,colour,flag,label\n" + rows)
    assert main(["--max-reported", "2", "data/a.csv"]) == 1
    lines = stderr_lines(capsys)
    assert len(lines) == 3 and lines[-1] == "data/a.csv: 3 more violation(s) not shown"


def test_files_no_schema_governs_are_not_checked(repo: Path) -> None:
    (repo / "elsewhere.csv").write_text("not,a\nvalid\x00file")
    assert main(["elsewhere.csv"]) == 0


def test_patterns_are_relative_to_the_schema_and_schemas_can_be_repeated(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "sub" / "raw").mkdir(parents=True)
    (repo / "sub" / "schema.yaml").write_text(SCHEMA.replace("data/*.csv", "raw/*.csv"))
    (repo / "sub" / "raw" / "b.csv").write_text(GOOD.replace("150.5", "99"))
    (repo / "data" / "a.csv").write_text(GOOD)
    schemas = [(p, load_schema(p)) for p in ("schema.yaml", "sub/schema.yaml")]
    assert [g.path for g in governed_files(["data/a.csv", "sub/raw/b.csv", "raw/b.csv"], schemas)] == [
        "data/a.csv",
        "sub/raw/b.csv",
    ]
    assert main(["--schema", "schema.yaml", "--schema", "sub/schema.yaml", "data/a.csv", "sub/raw/b.csv"]) == 1
    assert stderr_lines(capsys) == [
        "sub/raw/b.csv (sub/schema.yaml): row 1, column 'height': 99.0 is below the minimum 100.0"
    ]


def test_without_arguments_the_staged_files_are_checked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "data" / "a.csv").write_text(GOOD)
    (repo / "data" / "b.csv").write_text(GOOD.replace("160", "300"))
    run("git", "add", "data/a.csv", cwd=repo)
    assert main([]) == 0
    run("git", "add", "data/b.csv", cwd=repo)
    assert main([]) == 1
    assert stderr_lines(capsys) == ["data/b.csv: row 2, column 'height': 300.0 is above the maximum 220.0"]


def test_validate_file_falls_back_to_the_full_check_for_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("height,count,colour,flag,label\n150,1,red,True,0\n150,1,red,True,0,9\n")
    with pytest.raises(Exception, match=r"t\.csv:3: expected 5 fields as in the header, saw 6"):
        validate_file(str(path), load_schema_text(tmp_path))


def load_schema_text(tmp_path: Path) -> Schema:
    (tmp_path / "schema.yaml").write_text(SCHEMA)
    return load_schema(tmp_path / "schema.yaml")


@pytest.mark.parametrize(
    ("files", "args", "code", "expected"),
    [
        ({}, ["--require-schema", "data/a.csv"], 1,
         "schema.yaml: file not found (--require-schema); write one with: lockship schema infer data/a.csv --target"),
        ({}, ["--schema", "sub/schema.yaml", "data/a.csv"], 1, "sub/schema.yaml: file not found"),
        ({"schema.yaml": "files: [\n"}, ["data/a.csv"], 1, "schema.yaml:2:1: invalid YAML: "),
        ({"schema.yaml": SCHEMA, "data/a.csv": ""}, ["data/a.csv"], 1, "data/a.csv: file is empty"),
        ({"schema.yaml": SCHEMA}, ["data/a.csv"], 1, "data/a.csv: file not found"),
        ({"schema.yaml": SCHEMA, "data/a.csv": "\xff\xfe"}, ["data/a.csv"], 1, "data/a.csv:1: not UTF-8 text"),
        ({"schema.yaml": SCHEMA.replace("*.csv", "*.parquet"), "data/a.parquet": "PAR1junk"}, ["data/a.parquet"], 1,
         "data/a.parquet: not a valid Parquet file"),
        ({"schema.yaml": SCHEMA}, ["--max-reported", "0", "x.csv"], 2, "--max-reported: must be at least 1"),
        ({"schema.yaml": SCHEMA}, [], 1, "{cwd}: not a git repository"),
    ],
)  # fmt: skip
def test_bad_input_is_one_clear_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    args: list[str],
    code: int,
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(text.encode("latin-1"))
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    assert main(args) == code
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(expected.format(cwd=tmp_path)), lines
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


# Data that DVC tracks: a staged `.dvc` file or dvc.lock stands for the data it records.

PIPELINE = """\
stages:
  make:
    cmd: python make.py
    deps: [make.py]
    outs:
      - data/out.csv:
          cache: false
      - data/other.csv:
          cache: false
"""


def write_maker(repo: Path, out: str, other: str) -> None:
    (repo / "make.py").write_text(
        f"open('data/out.csv', 'w').write({out!r})\nopen('data/other.csv', 'w').write({other!r})\n"
    )


def test_a_staged_dvc_file_stands_for_its_data(dvc_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(dvc_repo)
    (dvc_repo / "schema.yaml").write_text(SCHEMA)
    (dvc_repo / "data").mkdir()
    (dvc_repo / "data" / "a.csv").write_text(GOOD.replace("160", "300"))
    run("dvc", "add", "-q", "data/a.csv", cwd=dvc_repo)
    run("git", "add", "-A", cwd=dvc_repo)
    assert "data/a.csv" not in run("git", "ls-files", cwd=dvc_repo).stdout.split()
    assert main([]) == 1
    assert stderr_lines(capsys) == ["data/a.csv: row 2, column 'height': 300.0 is above the maximum 220.0"]
    assert main(["data/a.csv.dvc"]) == 1
    capsys.readouterr()
    (dvc_repo / "data" / "a.csv").unlink()  # a clone without `dvc pull`
    assert main(["data/a.csv.dvc"]) == 0
    assert stderr_lines(capsys) == [
        "note: data/a.csv: not in the work tree, not checked "
        "(data/a.csv.dvc is staged; `dvc pull data/a.csv.dvc` to check it)"
    ]


def test_a_tracked_directory_stands_for_the_files_in_it_the_schema_governs(
    dvc_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(dvc_repo)
    (dvc_repo / "schema.yaml").write_text(SCHEMA.replace("data/*.csv", "data/raw/*.csv"))
    (dvc_repo / "data" / "raw").mkdir(parents=True)
    (dvc_repo / "data" / "raw" / "a.csv").write_text(GOOD)
    (dvc_repo / "data" / "raw" / "b.csv").write_text(GOOD.replace("red", "pink"))
    (dvc_repo / "data" / "raw" / "notes.txt").write_text("not data\n")
    run("dvc", "add", "-q", "data/raw", cwd=dvc_repo)
    assert main(["data/raw.dvc"]) == 1
    assert stderr_lines(capsys) == [
        "data/raw/b.csv: row 1, column 'colour': 'pink' is not an allowed value ('red', 'green', 'blue')"
    ]
    for name in ("a.csv", "b.csv", "notes.txt"):
        (dvc_repo / "data" / "raw" / name).unlink()
    (dvc_repo / "data" / "raw").rmdir()
    assert main(["data/raw.dvc"]) == 0
    assert stderr_lines(capsys) == [
        "note: data/raw: not in the work tree, not checked "
        "(data/raw.dvc is staged; `dvc pull data/raw.dvc` to check it)"
    ]


def test_a_staged_dvc_lock_stands_for_the_outs_that_changed_since_head(
    dvc_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(dvc_repo)
    (dvc_repo / "data").mkdir()
    (dvc_repo / "dvc.yaml").write_text(PIPELINE)
    bad = GOOD.replace("160", "300")
    write_maker(dvc_repo, GOOD, bad)
    run("dvc", "repro", "-q", cwd=dvc_repo)
    run("git", "add", "-A", cwd=dvc_repo)
    run("git", "commit", "-qm", "pipeline", cwd=dvc_repo)
    (dvc_repo / "schema.yaml").write_text(SCHEMA)
    write_maker(dvc_repo, GOOD.replace("red", "pink"), bad)
    run("dvc", "repro", "-q", cwd=dvc_repo)
    # Only dvc.lock is named: data/out.csv changed in it, data/other.csv (bad since HEAD) did not.
    assert main(["dvc.lock"]) == 1
    assert stderr_lines(capsys) == [
        "data/out.csv: row 1, column 'colour': 'pink' is not an allowed value ('red', 'green', 'blue')"
    ]


def test_a_regenerated_output_commits_in_a_repo_without_a_schema(
    dvc_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9 item 4: a repo that never asked for data validation is not blocked by check-data."""
    monkeypatch.chdir(dvc_repo)
    (dvc_repo / "data").mkdir()
    (dvc_repo / "dvc.yaml").write_text(PIPELINE)
    write_maker(dvc_repo, GOOD, GOOD)
    run("dvc", "repro", "-q", cwd=dvc_repo)
    run("git", "add", "-A", cwd=dvc_repo)
    run("git", "commit", "-qm", "pipeline", cwd=dvc_repo)
    write_maker(dvc_repo, GOOD.replace("160", "300"), GOOD)
    run("dvc", "repro", "-q", cwd=dvc_repo)
    run("git", "add", "-A", cwd=dvc_repo)
    assert main(["data/out.csv", "dvc.lock"]) == 0
    assert stderr_lines(capsys) == [
        "note: schema.yaml: not found, so data files such as data/out.csv are not checked; to check them: "
        "lockship schema infer data/out.csv --target <label column> (its `files:` patterns say what it governs)"
    ]
    assert main([]) == 0
    assert main(["--require-schema"]) == 1
    assert stderr_lines(capsys)[-1].startswith("schema.yaml: file not found (--require-schema)")
    # Nothing asked for validation: a dvc.lock broken mid-edit is check-lock's to report, not check-data's.
    (dvc_repo / "dvc.lock").write_text("schema: [\n")
    assert main(["dvc.lock"]) == 0
    assert main(["--require-schema", "dvc.lock"]) == 1
    assert stderr_lines(capsys) == ["dvc.lock:2:1: invalid YAML: did not find expected node content"]


def test_lock_out_paths_are_relative_to_their_stage_s_wdir(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(git_repo)
    (git_repo / "sub" / "data").mkdir(parents=True)
    (git_repo / "sub" / "schema.yaml").write_text(SCHEMA)
    (git_repo / "sub" / "data" / "a.csv").write_text(GOOD.replace("160", "90"))
    (git_repo / "dvc.yaml").write_text("stages:\n  s:\n    wdir: sub\n    cmd: 'true'\n    outs: [data/a.csv]\n")
    (git_repo / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  s:\n    cmd: 'true'\n    outs:\n    - path: data/a.csv\n"
        "      hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n"
    )
    assert main(["--schema", "sub/schema.yaml", "dvc.lock"]) == 1
    assert stderr_lines(capsys) == ["sub/data/a.csv: row 2, column 'height': 90.0 is below the minimum 100.0"]


def test_may_hold_tells_which_folders_a_pattern_can_reach() -> None:
    assert may_hold("data/raw", "data/raw/*.csv")
    assert may_hold("data", "data/raw/*.csv")
    assert may_hold("data/raw", "*.csv") and may_hold("x/y", "**/*.csv") and may_hold("data/x/y", "data/**/a.csv")
    assert not may_hold("models", "data/*.csv")
    assert not may_hold("data/raw", "data/*.csv")
