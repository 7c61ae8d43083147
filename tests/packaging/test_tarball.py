"""Deterministic layer tars: the same files give the same bytes whatever their mtimes and owners."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from lockship.packaging.tarball import MTIME, tree_files, write_tar


def make_tree(root: Path, mtime: int) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "pkg" / "sub" / "tool").write_text("#!/bin/sh\n")
    (root / "pkg" / "sub" / "tool").chmod(0o700)
    (root / "pkg" / "skipped").mkdir()
    (root / "pkg" / "skipped" / "a.txt").write_text("no\n")
    (root / "pkg" / "link.py").symlink_to("__init__.py")
    for path in root.rglob("*"):
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return root


def test_same_files_give_the_same_bytes(tmp_path: Path) -> None:
    first, second = make_tree(tmp_path / "a", 1_000), make_tree(tmp_path / "b", 2_000_000)
    write_tar(tmp_path / "a.tar", tree_files(first, "opt/x", skip=["skipped"]))
    write_tar(tmp_path / "b.tar", tree_files(second, "opt/x", skip=["skipped"]))
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_members_are_sorted_with_parents_fixed_owner_time_and_modes(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "a", 1_000)
    write_tar(tmp_path / "a.tar", {**tree_files(tree, "opt/x", skip=["skipped"]), "opt/extra.txt": b"bytes"})
    with tarfile.open(tmp_path / "a.tar") as archive:
        members = archive.getmembers()
        names = [member.name for member in members]
        assert names == [
            "opt",
            "opt/x",
            "opt/x/pkg",
            "opt/x/pkg/sub",
            "opt/extra.txt",
            "opt/x/pkg/__init__.py",
            "opt/x/pkg/link.py",
            "opt/x/pkg/sub/tool",
        ]
        by_name = {member.name: member for member in members}
        assert all(member.mtime == MTIME and member.uid == 0 and member.gid == 0 for member in members)
        assert by_name["opt/x/pkg/sub/tool"].mode == 0o755
        assert by_name["opt/x/pkg/__init__.py"].mode == 0o644
        assert by_name["opt/x/pkg/link.py"].issym() and by_name["opt/x/pkg/link.py"].linkname == "__init__.py"
        extra = archive.extractfile("opt/extra.txt")
        assert extra is not None and extra.read() == b"bytes"
