"""dvc.lock and `.dvc` files: strict for the work tree, lenient for any version in git history."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.dvc.files import parse_dvc_yaml
from lockship.core.dvc.lock import LockedOut, drop_entries, load_dvc_file, load_lock, lock_entries, locked_outs
from lockship.core.errors import LockshipError

LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: train.py
      md5: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    params:
      params.yaml:
        train.seed: 1
    outs:
    - path: model.bin
      hash: md5
      md5: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
    - path: metrics.json
      hash: md5
      md5: cccccccccccccccccccccccccccccccc
      cache: false
  old:
    outs:
    - path: data
      md5: dddddddddddddddddddddddddddddddd.dir
    - path: nohash
"""


def test_lock_entries_and_their_lines(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dvc.lock").write_text(LOCK)
    entries = load_lock(str(tmp_path), "sub/dvc.lock")
    assert sorted(entries) == ["old", "train"]
    train = entries["train"]
    assert (train.cmd, train.line, train.params) == ("python train.py", 3, {"params.yaml": {"train.seed": 1}})
    assert (
        sorted(train.outs) == ["metrics.json", "model.bin"]
        and train.deps["train.py"]["md5"] == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema: '1.0'\n", "dvc.lock:1: not a DVC 3 lock file (expected schema: '2.0')"),
        ("schema: '2.0'\nstages: [a]\n", "dvc.lock:2: expected a mapping of stages"),
        ("schema: '2.0'\nstages:\n  s: 1\n", "dvc.lock:3: stage 's': expected a mapping"),
        ("schema: '2.0'\nstages:\n  s:\n    outs: [{md5: x}]\n", "dvc.lock:3: stage 's': malformed entry"),
    ],
)
def test_malformed_lock_files(text: str, message: str) -> None:
    with pytest.raises(LockshipError) as error:
        lock_entries(parse_dvc_yaml(text, "dvc.lock"))
    assert list(error.value.problems) == [message]


def test_dvc_file_paths_are_relative_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.dvc").write_text(
        "outs:\n- md5: eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\n  path: raw.csv\n- path: ../other\n"
    )
    assert load_dvc_file(str(tmp_path), "data/raw.dvc") == {
        "data/raw.csv": ("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "raw.csv"),
        "other": ("", "../other"),
    }
    (tmp_path / "bad.dvc").write_text("outs: {}\n")
    with pytest.raises(LockshipError, match=r"^bad.dvc:1: expected a list of outs$"):
        load_dvc_file(str(tmp_path), "bad.dvc")


def test_locked_outs_of_a_git_object_are_lenient() -> None:
    document = parse_dvc_yaml(LOCK, "sub/dvc.lock@abc1234")
    assert locked_outs(document, "sub/dvc.lock") == [
        LockedOut("sub/model.bin", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", False, True, True),
        LockedOut("sub/metrics.json", "cccccccccccccccccccccccccccccccc", False, False, True),
        LockedOut("sub/data", "dddddddddddddddddddddddddddddddd.dir", True, True, True),
        LockedOut("sub/nohash", None, True, True, True),  # no md5: its dvc.yaml names it, nothing recorded
    ]
    dvc_file = parse_dvc_yaml(
        "outs:\n- md5: ffffffffffffffffffffffffffffffff\n  path: raw.csv\n  push: false\n- 3\n", "d/raw.dvc"
    )
    assert locked_outs(dvc_file) == [LockedOut("d/raw.csv", "ffffffffffffffffffffffffffffffff", True, True, False)]
    assert locked_outs(parse_dvc_yaml("- just a list\n", "dvc.lock")) == []


CRAFTED_LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: train.py
      md5: 0123456789ABCDEF0123456789ABCDEF
    outs:
    - path: model.bin
      md5: ..//../../../.env
    - path: data
      md5: 0123456789abcdef0123456789abcdef.dir
    - path: other
      md5: 0123456789abcdef0123456789abcdef.dir/..
"""
NOT_MD5 = "is not a DVC md5 (32 lowercase hex digits, `.dir` after a directory's)"


def test_every_reader_refuses_a_hash_that_could_name_a_path(tmp_path: Path) -> None:
    expected = [
        f"dvc.lock:7: stage 'train': dep train.py: '0123456789ABCDEF0123456789ABCDEF' {NOT_MD5}",
        f"dvc.lock:10: stage 'train': out model.bin: '..//../../../.env' {NOT_MD5}",
        f"dvc.lock:14: stage 'train': out other: '0123456789abcdef0123456789abcdef.dir/..' {NOT_MD5}",
    ]
    (tmp_path / "dvc.lock").write_text(CRAFTED_LOCK)
    for read in (
        lambda: load_lock(str(tmp_path), "dvc.lock"),
        lambda: locked_outs(parse_dvc_yaml(CRAFTED_LOCK, "dvc.lock")),
    ):
        with pytest.raises(LockshipError) as error:
            read()
        assert list(error.value.problems) == expected
    (tmp_path / "raw.dvc").write_text("outs:\n- path: raw.csv\n  md5: 12345\n")  # YAML reads an int
    for read in (
        lambda: load_dvc_file(str(tmp_path), "raw.dvc"),
        lambda: locked_outs(parse_dvc_yaml((tmp_path / "raw.dvc").read_text(), "raw.dvc")),
    ):
        with pytest.raises(LockshipError) as error:
            read()
        assert list(error.value.problems) == [f"raw.dvc:3: out raw.csv: '12345' {NOT_MD5}"]


CUT_LOCK = """\
schema: '2.0'
stages:
  keep:
    cmd: a  # a comment stays
    outs:
    - path: a.txt
      md5: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
  gone:
    cmd: b
  also-kept:
    cmd: "c: quoted"

  last-gone:
    cmd: d
"""


def test_drop_entries_cuts_only_their_lines() -> None:
    assert drop_entries(CUT_LOCK, {"gone", "last-gone"}, "dvc.lock") == CUT_LOCK.replace(
        "  gone:\n    cmd: b\n", ""
    ).replace("  last-gone:\n    cmd: d\n", "")
    assert drop_entries(CUT_LOCK, set(), "dvc.lock") == CUT_LOCK
    with_tail = CUT_LOCK + "extra: 1\n"
    assert drop_entries(with_tail, {"last-gone"}, "dvc.lock").endswith("\n\nextra: 1\n")


def test_drop_entries_refuses_a_layout_it_cannot_cut() -> None:
    with pytest.raises(
        LockshipError, match=r"^dvc.lock: `stages:` is not a block mapping; remove the entries by hand$"
    ):
        drop_entries("schema: '2.0'\nstages: {a: {cmd: x}, b: {cmd: y}}\n", {"a"}, "dvc.lock")
