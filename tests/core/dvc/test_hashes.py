"""DVC 3's md5 of files and directories, the stat-keyed cache and `.dvcignore` rules, checked against real `dvc add`."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from lockship.core.dvc.files import read_yaml
from lockship.core.dvc.hashes import CACHE_PATH, HashCache, IgnoreRules, describe_tree_change, tree_md5
from tests.conftest import run
from tests.conftest import write_files as write


def test_directory_hash_matches_dvc_add(dvc_repo: Path) -> None:
    write(dvc_repo, {"data/b.txt": "b\n", "data/a/x.csv": "1,2\n", "data/caf\u00e9.txt": "\u00e9\n", "data/z.log": "x"})
    write(dvc_repo, {".dvcignore": "*.log\n"})
    run("dvc", "add", "-q", "data", cwd=dvc_repo)
    recorded = read_yaml(str(dvc_repo), "data.dvc").data["outs"][0]["md5"]
    cache = HashCache(str(dvc_repo))
    entries = cache.dir_entries("data", IgnoreRules.load(str(dvc_repo)))
    assert sorted(entries) == ["a/x.csv", "b.txt", "caf\u00e9.txt"]
    assert tree_md5(entries) == recorded


def test_file_hash_is_plain_md5_and_cached_by_stat(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "f.txt").write_text("a\r\nb\n")
    cache = HashCache.load(str(tmp_path))
    assert cache.file_md5("f.txt") == hashlib.md5(b"a\r\nb\n").hexdigest()
    cache.save()
    stored = json.loads((tmp_path / CACHE_PATH).read_text())
    assert list(stored["files"]) == ["f.txt"]

    warm = HashCache.load(str(tmp_path))
    assert warm.file_md5("f.txt") == hashlib.md5(b"a\r\nb\n").hexdigest()
    assert warm.hashed == 0
    (tmp_path / "f.txt").write_text("a\r\nc\n")  # same size, new mtime
    os.utime(tmp_path / "f.txt", ns=(1, 1))
    assert warm.file_md5("f.txt") == hashlib.md5(b"a\r\nc\n").hexdigest()
    assert warm.hashed == 1


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / CACHE_PATH).parent.mkdir(parents=True)
    (tmp_path / CACHE_PATH).write_text("{not json")
    (tmp_path / "f").write_text("x")
    cache = HashCache.load(str(tmp_path))
    assert cache.file_md5("f") == hashlib.md5(b"x").hexdigest()


def test_ignore_rules(tmp_path: Path) -> None:
    (tmp_path / ".dvcignore").write_text("# comment\n*.log\n/build/\ndocs/**/draft.md\n!keep.log\ncache/\n")
    ignored = IgnoreRules.load(str(tmp_path))
    assert ignored("a/b/run.log", False)
    assert not ignored("a/keep.log", False)
    assert ignored("build", True) and not ignored("src/build", True)
    assert ignored("docs/x/y/draft.md", False) and ignored("docs/draft.md", False)
    assert ignored("src/cache", True) and not ignored("src/cache", False)
    assert ignored(".git", True) and ignored(".dvc", True)
    assert ignored.covers("build/out/file.txt", False)


def test_describe_tree_change() -> None:
    old = {"a.py": "1", "b.py": "2", "c.py": "3"}
    new = {"a.py": "1", "b.py": "9", "d.py": "4"}
    assert describe_tree_change(old, new) == "b.py modified, d.py added, c.py deleted"
    assert describe_tree_change({}, {f"{i}.py": "x" for i in range(5)}, limit=2) == "0.py added, 1.py added, 3 more"
