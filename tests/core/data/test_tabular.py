from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lockship.core.data.tabular import csv_bytes, read_table
from lockship.core.errors import LockshipError


def test_csv_and_parquet_read_alike(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, None], "c": ["x", "y"]})
    frame.to_parquet(tmp_path / "t.parquet")
    (tmp_path / "t.csv").write_bytes(csv_bytes(frame))
    for name in ("t.csv", "t.parquet"):
        read = read_table(tmp_path / name)
        assert read["a"].tolist() == [1, 2] and read["c"].tolist() == ["x", "y"]
        assert read["b"].isna().tolist() == [False, True]


def test_csv_bytes_round_trip_floats_exactly(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [0.1 + 0.2, 1e-300, 123456789.123456789]})
    (tmp_path / "f.csv").write_bytes(csv_bytes(frame))
    assert (tmp_path / "f.csv").read_bytes().count(b"\r") == 0
    assert read_table(tmp_path / "f.csv")["x"].tolist() == frame["x"].tolist()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("f.csv", b"", "f.csv: file is empty"),
        ("f.csv", b"\n\n", "f.csv: no header row; the file holds no columns"),
        ("f.csv", b"a,b\n1,2\n3,4,5\n", "f.csv:3: expected 2 fields as in the header, saw 3"),
        # Quoted newlines: pandas counts records (this one is its "line 6"), the message names the line.
        (
            "f.csv",
            b'a,b\n1,"x\n\n\n\ny"\n2,"p\nq\nr"\n3,4\n5,6\n7,8,9\n',
            "f.csv:12: expected 2 fields as in the header, saw 3",
        ),
        ("f.csv", b'a,b\n1,"x\ny"\n2,"open\n3,4\n', "f.csv:4: a quoted value starts here and never ends"),
        ("f.csv", b"a,b\n\xff\xfe,1\n", "f.csv:2: not UTF-8 text; is it really a CSV file?"),
        ("f.csv", b"a,,b\n1,2,3\n", "f.csv:1: the header has 1 empty column name(s)"),
        ("f.csv", b"a,b,a\n1,2,3\n", "f.csv:1: duplicate column name(s) in the header: a"),
        ("f.parquet", b"PAR1 not really", "f.parquet: not a valid Parquet file"),
        ("f.xlsx", b"x", "f.xlsx: unsupported file type '.xlsx', expected .csv or .parquet"),
    ],
)
def test_bad_files(name: str, content: bytes, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(content)
    with pytest.raises(LockshipError) as error:
        read_table(name)
    assert error.value.problems[0].startswith(message)


def test_missing_file() -> None:
    with pytest.raises(LockshipError, match=r"^nowhere\.csv: file not found$"):
        read_table("nowhere.csv")
