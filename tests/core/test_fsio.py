from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.core.fsio import canonical_json, file_digest, write_outputs
from tests.conftest import run
from tests.conftest import write_files as write


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


WRITER = """\
import os, signal, sys
from lockship.core.fsio import write_outputs

if os.environ.get("KILL_BETWEEN_RENAMES"):
    real_replace = os.replace

    def replace_then_die(source, target):
        real_replace(source, target)
        os.kill(os.getpid(), signal.SIGKILL)  # as a power cut or `kill -9` would, after the first rename

    os.replace = replace_then_die
write_outputs({"a.txt": open("input.txt").read(), "b.txt": "b", "c.txt": "c"})
"""


def test_temporaries_left_by_a_kill_between_renames_go_at_the_next_dvc_repro(dvc_repo: Path) -> None:
    write(dvc_repo, {"write.py": WRITER, "input.txt": "one\n"})
    (dvc_repo / "dvc.yaml").write_text(
        "stages:\n  write:\n    cmd: python write.py\n    deps: [write.py, input.txt]\n"
        "    outs: [a.txt, b.txt, c.txt]\n"
    )
    run("dvc", "repro", "-q", cwd=dvc_repo)
    run("git", "add", "-A", cwd=dvc_repo)
    run("git", "commit", "-qm", "pipeline", cwd=dvc_repo)
    (dvc_repo / "input.txt").write_text("two\n")
    killed = run("dvc", "repro", "-q", cwd=dvc_repo, check=False, env={**os.environ, "KILL_BETWEEN_RENAMES": "1"})
    assert killed.returncode != 0
    untracked = run("git", "status", "--porcelain", "--untracked-files=all", cwd=dvc_repo).stdout.splitlines()
    assert sorted(line.split(".")[1] for line in untracked if line.endswith(".tmp")) == ["b", "c"]
    run("dvc", "repro", "-q", cwd=dvc_repo)
    assert (dvc_repo / "a.txt").read_text() == "two\n"
    run("git", "add", "-A", cwd=dvc_repo)
    run("git", "commit", "-qm", "reproduced", cwd=dvc_repo)
    assert run("git", "status", "--porcelain", "--untracked-files=all", cwd=dvc_repo).stdout == ""
    assert not [p for p in dvc_repo.iterdir() if p.name.endswith(".tmp")]


def test_only_temporaries_of_the_outputs_written_are_removed(tmp_path: Path) -> None:
    stale = [".a.txt.k3j_x9q2.tmp", ".b.txt.abcdefgh.tmp"]
    kept = [".a.txt.notours.tmp", "a.txt.abcdefgh.tmp", ".a.txt.abcdefgh.tmp.bak", ".other.abcdefgh.tmp"]
    for name in stale + kept:
        (tmp_path / name).write_text("x")
    write_outputs({tmp_path / "a.txt": "a", tmp_path / "b.txt": "b"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "a.txt", "b.txt"])
