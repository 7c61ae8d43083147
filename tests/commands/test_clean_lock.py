"""`lockship clean-lock`: what it removes, a dry run, bad input.

With the real DVC and pre-commit: tests/hooks/test_check_lock_leftovers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.commands.clean_lock import Cleaned, clean_lock, main
from tests.conftest import write_files as write

ENTRY = "  {name}:\n    cmd: echo {name}\n    outs:\n    - path: {name}.txt\n      hash: md5\n      md5: {md5}\n"


def lock(*names: str) -> str:
    return "schema: '2.0'\nstages:\n" + "".join(
        ENTRY.format(name=n, md5="e" * 31 + str(i)) for i, n in enumerate(names)
    )


def stages(*names: str) -> str:
    return "stages:\n" + "".join(f"  {n}:\n    cmd: echo {n}\n    outs: [{n}.txt]\n" for n in names)


@pytest.fixture
def leftovers(dvc_repo: Path) -> Path:
    write(dvc_repo, {"dvc.yaml": stages("a"), "dvc.lock": lock("a", "old"), "gone/dvc.lock": lock("x")})
    return dvc_repo


def test_dry_run_changes_nothing(leftovers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (leftovers / "dvc.lock").read_text()
    assert main(["--repo", str(leftovers), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "dvc.lock: would remove 1 entry ('old') of stages not in dvc.yaml",
        "gone/dvc.lock: would remove the file: 1 entry ('x'), none of a stage in gone/dvc.yaml",
    ]
    assert (leftovers / "dvc.lock").read_text() == before
    assert (leftovers / "gone" / "dvc.lock").exists()


def test_clean_removes_entries_and_orphaned_lock_files(leftovers: Path) -> None:
    assert clean_lock(str(leftovers)) == [
        Cleaned("dvc.lock", ("old",), deleted=False),
        Cleaned("gone/dvc.lock", ("x",), deleted=True),
    ]
    assert (leftovers / "dvc.lock").read_text() == lock("a")
    assert not (leftovers / "gone" / "dvc.lock").exists()
    assert clean_lock(str(leftovers)) == []


def test_a_malformed_pipeline_stops_before_any_file_is_written(
    leftovers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(leftovers, {"sub/dvc.yaml": "stages:\n  s:\n    cmd: ${nope}\n", "sub/dvc.lock": lock("s", "t")})
    before = (leftovers / "dvc.lock").read_text()
    assert main(["--repo", str(leftovers)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "sub/dvc.yaml:2: stage 's': cannot interpolate ${nope}: 'nope' is not defined"
    ]
    assert (leftovers / "dvc.lock").read_text() == before
    assert (leftovers / "gone" / "dvc.lock").exists()


def test_usage_errors(tmp_path: Path, git_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(tmp_path / "nope")]) == 2
    assert main(["--repo", str(git_repo)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'nope'}: no such directory",
        f"{git_repo}: not a DVC repository (no .dvc directory); run `dvc init`",
    ]
