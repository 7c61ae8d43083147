"""Start-up bytecode: the same sources give the same pyc bytes, named for the image's paths."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path, PurePosixPath

from lockship.packaging.bytecode import compile_modules, pyc_name


def test_pycs_are_reproducible_and_carry_the_image_path(tmp_path: Path) -> None:
    for place in ("a", "b"):
        (tmp_path / place).mkdir()
        (tmp_path / place / "mod.py").write_text("VALUES = {'x', 'y', 'z'}\ndef f():\n    return 1\n")
    shown = PurePosixPath("/opt/lockship/site/mod.py")
    first = compile_modules([(tmp_path / "a" / "mod.py", shown)], tmp_path / "out-a", cache=tmp_path / "cache")
    second = compile_modules([(tmp_path / "b" / "mod.py", shown)], tmp_path / "out-b", cache=tmp_path / "cache")
    name = f"opt/lockship/site/__pycache__/mod.{sys.implementation.cache_tag}.pyc"
    assert list(first) == list(second) == [name]
    data = first[name].read_bytes()
    assert data == second[name].read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 1  # hash-based, unchecked: no source mtime inside
    assert b"/opt/lockship/site/mod.py" in data and str(tmp_path).encode() not in data


def test_pyc_name_follows_pep_3147() -> None:
    tag = sys.implementation.cache_tag
    assert pyc_name(PurePosixPath("/a/b/c.py")) == PurePosixPath(f"/a/b/__pycache__/c.{tag}.pyc")
