from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.core.fsio import canonical_json, file_digest, write_outputs


def test_outputs_appear_together_with_the_usual_mode(tmp_path: Path) -> None:
    write_outputs({tmp_path / "a/x.txt": "x", tmp_path / "b.bin": b"\x00"})
    assert (tmp_path / "a/x.txt").read_text() == "x"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "b.bin").stat().st_mode) == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_files_and_no_temporaries(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("old")
    (tmp_path / "blocked").write_text("a file where a directory is needed")
    with pytest.raises(LockshipError, match="cannot write"):
        write_outputs({tmp_path / "keep.txt": "new", tmp_path / "blocked/child.txt": "x"})
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "keep.txt"]


def test_canonical_json_is_stable_and_refuses_nan() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{\n  "a": [\n    1.5,\n    "é"\n  ],\n  "b": 1\n}\n'
    with pytest.raises(LockshipError, match="cannot write JSON"):
        canonical_json({"x": float("nan")})


def test_file_digest(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert file_digest(tmp_path / "f") == "900150983cd24fb0d6963f7d28e17f72"
    assert file_digest(tmp_path / "f", "sha256").startswith("ba7816bf")
