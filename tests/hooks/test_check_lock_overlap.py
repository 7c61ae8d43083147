"""check-lock on deps that overlap another stage's directory output, with and without the data.

A dep that holds a directory output (`runs/` holding `runs/x/`), or a file inside one, hashes to
that output's files, which a clone without `dvc pull` does not have. With the data, the real
`dvc status` is the reference; in a fresh `git clone`, check-lock must reach the same answer from
what git holds, and say so when it cannot rather than pass in silence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.hooks.check_lock import check, main
from tests.conftest import run
from tests.conftest import write_files as write

GEN = (
    "python -c \"import os, shutil; os.makedirs('runs/x', exist_ok=True); [shutil.copy(f, 'runs/x') for f in {files}]\""
)


def pipeline(files: str, dep: str) -> str:
    return f"""\
stages:
  gen:
    cmd: {GEN.format(files=files)}
    deps: [a.txt, b.txt]
    outs: [runs/x/]
  report:
    cmd: python -c "print(1)" > report.txt
    deps: [{dep}]
    outs: [report.txt]
"""


def commit(repo: Path, message: str) -> None:
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qm", message, cwd=repo)


def dvc_stale(repo: Path) -> set[str]:
    import json

    return set(json.loads(run("dvc", "status", "--json", cwd=repo).stdout or "{}"))


def clone(repo: Path, tmp_path: Path, *options: str) -> Path:
    target = tmp_path / "clone"
    run("git", "clone", "-q", *options, f"file://{repo}", str(target), cwd=tmp_path)
    assert not (target / "runs" / "x").exists()
    return target


def hook(repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["--repo", str(repo)])
    return code, capsys.readouterr().err.splitlines()


def reproduce(repo: Path, files: str, dep: str, extra: dict[str, str] | None = None) -> None:
    write(repo, {"dvc.yaml": pipeline(files, dep), "a.txt": "a1\n", "b.txt": "b1\n", **(extra or {})})
    run("dvc", "repro", "-q", cwd=repo)
    commit(repo, "reproduced")


def test_a_directory_dep_holding_a_re_run_output_is_stale_in_a_clone(
    dvc_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reproduce(dvc_repo, "['a.txt']", "runs/")
    write(dvc_repo, {"a.txt": "a2\n"})
    run("dvc", "repro", "-q", "-s", "gen", cwd=dvc_repo)
    commit(dvc_repo, "gen re-run, report not")
    assert dvc_stale(dvc_repo) == {"report"}
    assert hook(dvc_repo, capsys)[0] == 1

    code, lines = hook(clone(dvc_repo, tmp_path), capsys)
    assert code == 1
    assert lines[0].startswith("dvc.lock: stage 'report' is stale: dep runs changed (runs/x since 'report' was locked")
    assert ", as recorded in dvc.lock (outs of 'gen'))" in lines[0]
    assert lines[1:] == ["to fix: `dvc repro report`, then `git add dvc.lock`"]


def test_a_clean_clone_passes_through_later_commits_and_catches_tracked_files(
    dvc_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reproduce(dvc_repo, "['a.txt']", "runs/", {"runs/notes.md": "notes\n"})
    write(dvc_repo, {"README.md": "docs\n"})
    commit(dvc_repo, "docs only")
    assert dvc_stale(dvc_repo) == set()
    copy = clone(dvc_repo, tmp_path)
    assert hook(copy, capsys) == (0, [])
    write(copy, {"runs/notes.md": "notes v2\n"})  # git-tracked, inside the dep: DVC hashes it too
    assert check(str(copy)).stale[0].reason.startswith("dep runs changed (files git tracks under runs changed since")
    write(dvc_repo, {"runs/notes.md": "notes v2\n"})
    assert dvc_stale(dvc_repo) == {"report"}


def test_a_file_dep_inside_a_re_run_output(dvc_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reproduce(dvc_repo, "['a.txt']", "runs/x/a.txt")
    write(dvc_repo, {"a.txt": "a2\n"})
    run("dvc", "repro", "-q", "-s", "gen", cwd=dvc_repo)
    commit(dvc_repo, "gen re-run, report not")
    assert dvc_stale(dvc_repo) == {"report"}
    assert hook(dvc_repo, capsys)[0] == 1
    code, lines = hook(clone(dvc_repo, tmp_path), capsys)
    assert code == 1  # the output holds one file, so it is the one that changed
    assert lines[0].startswith("dvc.lock: stage 'report' is stale: dep runs/x/a.txt changed (runs/x since")


def test_a_file_dep_inside_an_output_of_several_files_is_a_note_when_it_cannot_be_told(
    dvc_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reproduce(dvc_repo, "['a.txt', 'b.txt']", "runs/x/a.txt")
    write(dvc_repo, {"b.txt": "b2\n"})
    run("dvc", "repro", "-q", "-s", "gen", cwd=dvc_repo)
    commit(dvc_repo, "gen re-run: only b.txt changed")
    assert dvc_stale(dvc_repo) == set()  # report's a.txt is as it was
    assert hook(dvc_repo, capsys) == (0, [])
    code, lines = hook(clone(dvc_repo, tmp_path), capsys)
    assert code == 0  # blocking would stop a commit that no `dvc repro` can change
    assert len(lines) == 1
    assert lines[0].startswith("dvc.lock: stage 'report': dep runs/x/a.txt not checked: runs/x changed since")
    assert lines[0].endswith("`dvc pull` its outputs to have it checked")


def test_a_dvc_tracked_directory_inside_a_dep(
    dvc_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        dvc_repo,
        {
            "data/raw/one.csv": "a\n1\n",
            "dvc.yaml": "stages:\n  count:\n    cmd: ls -R data > count.txt\n    deps: [data]\n    outs: [count.txt]\n",
        },
    )
    run("dvc", "add", "-q", "data/raw", cwd=dvc_repo)
    run("dvc", "repro", "-q", cwd=dvc_repo)
    commit(dvc_repo, "reproduced")
    assert hook(clone(dvc_repo, tmp_path), capsys) == (0, [])
    write(dvc_repo, {"data/raw/two.csv": "a\n2\n"})
    run("dvc", "add", "-q", "data/raw", cwd=dvc_repo)
    commit(dvc_repo, "more raw data, not reproduced")
    assert dvc_stale(dvc_repo) == {"count"}
    run("git", "pull", "-q", cwd=tmp_path / "clone")
    code, lines = hook(tmp_path / "clone", capsys)
    assert code == 1
    assert lines[0].startswith("dvc.lock: stage 'count' is stale: dep data changed (data/raw since 'count' was locked")
    assert lines[0].endswith(", as recorded in data/raw.dvc)")


def test_a_shallow_clone_says_it_cannot_tell(
    dvc_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reproduce(dvc_repo, "['a.txt']", "runs/")
    write(dvc_repo, {"a.txt": "a2\n"})
    run("dvc", "repro", "-q", "-s", "gen", cwd=dvc_repo)
    commit(dvc_repo, "gen re-run, report not")
    code, lines = hook(clone(dvc_repo, tmp_path, "--depth", "1"), capsys)
    assert code == 0
    assert lines == [
        "dvc.lock: stage 'report': dep runs not checked: its outputs are not at hand and git history does not "
        "show when it was locked; `dvc pull` its outputs to have it checked"
    ]


DOWNLOADS = """\
stages:
  download:
    cmd: python -c "import os; os.makedirs('raw', exist_ok=True); open('raw/a.csv', 'w').write(open('src.txt').read())"
    deps: [src.txt]
    outs:
      - raw/a.csv:
          cache: false
  transform:
    cmd: python -c "open('table.csv', 'w').write(open('raw/a.csv').read())"
    deps: [raw/]
    outs:
      - table.csv:
          cache: false
"""


def test_uncommitted_outputs_of_cache_false_are_absent_from_a_clone_not_stale(
    dvc_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As in public projects that download raw data: `cache: false` outputs that git ignores, so
    # neither git nor a DVC remote holds them, and a directory dep that holds only them.
    write(dvc_repo, {"dvc.yaml": DOWNLOADS, "src.txt": "1\n", ".gitignore": "/raw/\n"})
    run("dvc", "repro", "-q", cwd=dvc_repo)
    commit(dvc_repo, "reproduced")
    copy = tmp_path / "clone"
    run("git", "clone", "-q", f"file://{dvc_repo}", str(copy), cwd=tmp_path)
    assert not (copy / "raw").exists()
    assert hook(copy, capsys) == (0, [])
    write(dvc_repo, {"src.txt": "2\n"})
    run("dvc", "repro", "-q", "-s", "download", cwd=dvc_repo)
    commit(dvc_repo, "download re-run, transform not")
    assert dvc_stale(dvc_repo) == {"transform"}
    run("git", "pull", "-q", cwd=copy)
    code, lines = hook(copy, capsys)
    assert code == 1
    assert lines[0] == "dvc.lock: stage 'transform' is stale: dep raw changed (a.csv modified)"
    (dvc_repo / "table.csv").unlink()  # committed to git: deleting it is a change to the lock's output
    run("git", "add", "-A", cwd=dvc_repo)
    assert "dvc.lock: stage 'transform' is stale: out table.csv changed" in "\n".join(hook(dvc_repo, capsys)[1])
