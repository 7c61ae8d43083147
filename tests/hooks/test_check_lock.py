"""check-lock: `main` on real DVC projects, and every kind of bad input (the readers and hashes: tests/core)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from lockship.core.dvc.files import read_yaml
from lockship.core.dvc.hashes import CACHE_PATH
from lockship.hooks.check_lock import check, main
from tests.conftest import run
from tests.conftest import write_files as write

PIPELINE = """\
stages:
  train:
    cmd: python train.py --seed ${train.seed}
    deps: [train.py, lib]
    params: [train]
    outs: [model.txt]
  score:
    cmd: python score.py
    deps: [score.py, model.txt]
    metrics:
      - score.json:
          cache: false
"""

TRAIN = """\
import json, sys
params = open("params.yaml").read()
open("model.txt", "w").write(params + open("lib/core.py").read())
"""
SCORE = "open('score.json', 'w').write('{\"auc\": 0.5}\\n')\n"


@pytest.fixture
def pipeline(dvc_repo: Path) -> Path:
    """A small reproduced and committed pipeline: a directory dep, a stage output dep, a git-tracked metric."""
    write(
        dvc_repo,
        {
            "dvc.yaml": PIPELINE,
            "params.yaml": "train:\n  seed: 42\n  lr: 1e-3\n  on: on\n",
            "train.py": TRAIN,
            "score.py": SCORE,
            "lib/core.py": "# core\n",
            "lib/nested/util.py": "# util\n",
        },
    )
    run("dvc", "repro", "-q", cwd=dvc_repo)
    run("git", "add", "-A", cwd=dvc_repo)
    run("git", "commit", "-qm", "reproduced", cwd=dvc_repo)
    return dvc_repo


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file but git's internals and check-lock's own hash cache."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file() and not name.startswith(".git/") and name != CACHE_PATH:
            files[name] = path.read_bytes()
    return files


def run_main(repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["--repo", str(repo)])
    return code, capsys.readouterr().err.splitlines()


# --- the hook ------------------------------------------------------------------------------------


def test_up_to_date_pipeline_passes(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(pipeline, capsys) == (0, [])
    assert (pipeline / CACHE_PATH).is_file()
    assert run("git", "status", "--porcelain", cwd=pipeline).stdout == ""  # the cache is ignored by git


def test_reports_each_stale_dep_param_and_out(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = check(str(pipeline)).stale
    assert before == []
    (pipeline / "params.yaml").write_text("train:\n  seed: 43\n  lr: 1e-3\n  on: on\n")
    (pipeline / "lib/nested/util.py").write_text("# util v2\n")
    (pipeline / "score.json").write_text('{"auc": 0.9}\n')
    code, lines = run_main(pipeline, capsys)
    assert code == 1
    assert "params.yaml:2: stage 'train' is stale: param train.seed changed: 42 -> 43" in lines
    assert "dvc.lock: stage 'train' is stale: cmd changed" in lines
    assert "dvc.lock: stage 'train' is stale: dep lib changed (nested/util.py modified)" in lines
    assert any(line.startswith("dvc.lock: stage 'score' is stale: out score.json changed (md5 ") for line in lines)
    assert lines[-1] == "to fix: `dvc repro score train`, then `git add dvc.lock`"
    assert len(lines) == 5


def test_stage_output_dep_is_checked_against_the_lock_not_the_work_tree(pipeline: Path) -> None:
    (pipeline / "model.txt").unlink()  # as in a clone that never pulled
    assert check(str(pipeline)).stale == []
    text = (pipeline / "dvc.lock").read_text()
    locked = read_yaml(str(pipeline), "dvc.lock").data["stages"]["train"]["outs"][0]["md5"]
    (pipeline / "dvc.lock").write_text(text.replace(locked, "f" * 32, 1))  # train re-locked with a new model
    (problem,) = check(str(pipeline)).stale
    assert str(problem) == (
        f"dvc.lock: stage 'score' is stale: dep model.txt changed (md5 {locked[:8]} -> ffffffff, "
        "as recorded in dvc.lock (outs of 'train'))"
    )


def test_missing_and_leftover_lock_entries(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (pipeline / "dvc.yaml").read_text().replace("  score:", "  evaluate:")
    (pipeline / "dvc.yaml").write_text(text)
    code, lines = run_main(pipeline, capsys)
    assert code == 1
    assert lines == [
        "dvc.lock:26: warning: 1 entry of stages no longer in dvc.yaml ('score'); "
        "`lockship clean-lock` removes them (check-lock --strict blocks on them)",
        "dvc.yaml:7: stage 'evaluate' is stale: it has no entry in dvc.lock",
        "to fix: `dvc repro evaluate`, then `git add dvc.lock`",
    ]
    assert main(["--repo", str(pipeline), "--strict"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "dvc.yaml:7: stage 'evaluate' is stale: it has no entry in dvc.lock",
        "dvc.lock:26: stage 'score' is in dvc.lock but no longer in dvc.yaml",
        "to fix: `lockship clean-lock` removes the entries of stages gone from their dvc.yaml",
        "to fix: `dvc repro evaluate`, then `git add dvc.lock`",
    ]


def test_lockship_cli_dispatches(pipeline: Path) -> None:
    result = run("lockship", "check-lock", "--repo", str(pipeline), cwd=pipeline, check=False)
    assert (result.returncode, result.stderr) == (0, "")
    (pipeline / "train.py").write_text(TRAIN + "# v2\n")
    result = run("lockship-check-lock", cwd=pipeline, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("dvc.lock: stage 'train' is stale: dep train.py changed (md5 ")


# --- bad input: one clear line, exit 1 or 2, nothing modified ----------------------------------


def test_not_a_git_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".dvc").mkdir()
    code, lines = run_main(tmp_path, capsys)
    assert (code, lines) == (2, [f"{tmp_path}: not a git repository"])


def test_a_bare_repository_or_a_git_directory_is_named_as_such(
    tmp_path: Path, pipeline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = tmp_path / "bare.git"
    run("git", "clone", "-q", "--bare", pipeline, bare, cwd=tmp_path)
    code, lines = run_main(bare, capsys)
    assert (code, lines) == (2, [f"{bare}: is a bare repository; run the hook in a work tree"])
    code, lines = run_main(pipeline / ".git", capsys)
    assert (code, lines) == (2, [f"{pipeline / '.git'}: is inside a .git directory; run the hook in its work tree"])


def test_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(tmp_path / "nope", capsys) == (2, [f"{tmp_path / 'nope'}: no such directory"])


def test_not_a_dvc_repository(git_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run_main(git_repo, capsys)
    assert (code, lines) == (2, [f"{git_repo}: not a DVC repository (no .dvc directory); run `dvc init`"])


def test_no_dvc_lock(dvc_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(dvc_repo, {"dvc.yaml": PIPELINE, "params.yaml": "train: {seed: 1}\n"})
    before = snapshot(dvc_repo)
    code, lines = run_main(dvc_repo, capsys)
    message = (
        "dvc.lock: not found, so no stage of dvc.yaml is locked: run `dvc repro train score`, then `git add dvc.lock`"
    )
    assert (code, lines) == (1, [message])
    assert snapshot(dvc_repo) == before


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("dvc.yaml", "stages:\n  train:\n    cmd: [unclosed\n", "dvc.yaml:4:1: invalid YAML: "),
        ("dvc.yaml", "stages:\n  a: 1\n  a: 2\n", "dvc.yaml:3:3: duplicate key 'a'"),
        ("dvc.yaml", "stages: [a, b]\n", "dvc.yaml:1: expected a mapping of stages"),
        (
            "dvc.yaml",
            "stages:\n  t:\n    cmd: run ${nope}\n",
            "dvc.yaml:2: stage 't': cannot interpolate ${nope}: 'nope' is not defined",
        ),
        ("dvc.lock", "schema: '2.0'\nstages:\n  train: {cmd: [\n", "dvc.lock:4:1: invalid YAML: "),
        ("dvc.lock", "schema: '3.0'\nstages: {}\n", "dvc.lock:1: not a DVC 3 lock file (expected schema: '2.0')"),
        (
            "dvc.lock",
            "schema: '2.0'\nstages:\n  train:\n    deps: [nopath]\n",
            "dvc.lock:3: stage 'train': malformed entry",
        ),
        ("params.yaml", "train:\n  seed: [1\n", "params.yaml:3:1: invalid YAML: "),
        ("params.yaml", "- a\n- b\n", "params.yaml:1: expected a mapping of params"),
    ],
    ids=[
        "dvc.yaml syntax",
        "duplicate key",
        "stages not a mapping",
        "undefined var",
        "lock syntax",
        "lock schema",
        "lock entry",
        "params syntax",
        "params list",
    ],
)
def test_malformed_files(
    pipeline: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    (pipeline / name).write_text(text)
    before = snapshot(pipeline)
    code, lines = run_main(pipeline, capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert snapshot(pipeline) == before


def test_dvc_file_without_outs(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(pipeline, {"raw.csv.dvc": "outs: nope\n"})
    assert run_main(pipeline, capsys) == (1, ["raw.csv.dvc:1: expected a list of outs"])


def test_dvc_project_in_a_subdirectory_of_the_git_repo(git_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = git_repo / "ml"
    write(project, {"dvc.yaml": PIPELINE, "params.yaml": "train:\n  seed: 1\n", "train.py": TRAIN, "score.py": SCORE})
    write(project, {"lib/core.py": "# core\n"})
    run("dvc", "init", "-q", "--subdir", cwd=project)
    run("dvc", "repro", "-q", cwd=project)
    run("git", "add", "-A", cwd=git_repo)
    run("git", "commit", "-qm", "monorepo", cwd=git_repo)
    assert run_main(git_repo, capsys) == (0, [])  # as pre-commit runs it, from the git root
    (project / "params.yaml").write_text("train:\n  seed: 2\n")
    code, lines = run_main(git_repo, capsys)
    assert code == 1
    assert "ml/params.yaml:2: stage 'train' is stale: param train.seed changed: 1 -> 2" in lines
    assert run_main(project / "lib", capsys)[1][0].startswith("dvc.lock: stage 'train' is stale")  # found upwards


def test_second_run_reuses_the_stat_cache(pipeline: Path) -> None:
    assert check(str(pipeline)).stale == []
    stored = pipeline / CACHE_PATH
    first = stored.stat().st_mtime_ns, stored.read_text()
    assert "lib/nested/util.py" in first[1]
    assert check(str(pipeline)).stale == []
    assert (stored.stat().st_mtime_ns, stored.read_text()) == first  # nothing re-hashed, nothing rewritten
    (pipeline / "lib/core.py").write_text("# core v2\n")
    assert [p.reason.split(" (")[0] for p in check(str(pipeline)).stale] == ["dep lib changed"]
    assert stored.read_text() != first[1]


# --- hostile deps: nothing outside the repository and nothing but regular files is opened --------

HOSTILE = """\
stages:
  grab:
    cmd: python grab.py
    deps:
      - pipe
      - ../../../../../../../../dev/zero
      - {secret}
      - zero-link
      - away-link
      - folder
    params:
      - {secret_params}:
    outs: [grabbed.txt]
"""
MD5 = "0123456789abcdef0123456789abcdef"


@pytest.mark.timeout(60)
def test_deps_outside_the_repository_or_not_regular_files_are_never_read(
    dvc_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret, secret_params = tmp_path / "secret.txt", tmp_path / "secret.yaml"
    secret.write_text("TOPSECRET\n")
    secret_params.write_text("key: TOPSECRET\n")
    deps = ["pipe", "../../../../../../../../dev/zero", str(secret), "zero-link", "away-link", "folder"]
    lock = "".join(f"    - path: {dep}\n      hash: md5\n      md5: {MD5}\n" for dep in deps)
    write(
        dvc_repo,
        {
            "dvc.yaml": HOSTILE.format(secret=secret, secret_params=secret_params),
            "dvc.lock": (
                f"schema: '2.0'\nstages:\n  grab:\n    cmd: python grab.py\n    deps:\n{lock}"
                f"    params:\n      {secret_params}:\n        key: other\n"
                f"    outs:\n    - path: grabbed.txt\n      hash: md5\n      md5: {MD5}\n"
            ),
            "folder/a.txt": "a\n",
        },
    )
    os.mkfifo(dvc_repo / "pipe")  # a FIFO blocks whoever opens it until a writer comes
    os.mkfifo(dvc_repo / "folder" / "inner-pipe")
    (dvc_repo / "zero-link").symlink_to("/dev/zero")  # git commits symlinks: a clone can hold this one
    (dvc_repo / "away-link").symlink_to(secret)
    code, lines = run_main(dvc_repo, capsys)
    suffix = "; check-lock reads only regular files and directories inside the repository"
    assert code == 1
    assert sorted(lines) == sorted(
        f"dvc.yaml:2: stage 'grab': {line}{suffix}"
        for line in [
            "dep pipe is a FIFO, not a regular file",
            "dep ../../../../../../../../dev/zero is outside the repository",
            f"dep {secret} is outside the repository",
            "dep zero-link leads outside the repository through a symlink",
            "dep away-link leads outside the repository through a symlink",
            "dep folder: folder/inner-pipe is a FIFO, not a regular file",
            f"params file {secret_params} is outside the repository",
        ]
    )
    cached = (dvc_repo / CACHE_PATH).read_text() if (dvc_repo / CACHE_PATH).exists() else ""
    assert "secret" not in cached and "zero" not in cached and "pipe" not in cached
    assert "TOPSECRET" not in "\n".join(lines)


@pytest.mark.timeout(60)
def test_a_dvcignore_or_params_file_that_is_a_fifo_is_one_line(
    pipeline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (pipeline / "params.yaml").unlink()
    os.mkfifo(pipeline / "params.yaml")
    code, lines = run_main(pipeline, capsys)
    suffix = "lockship reads only regular files and directories inside the repository"
    assert (code, lines) == (1, [f"params.yaml: is a FIFO, not a regular file; {suffix}"])
    (pipeline / "params.yaml").unlink()
    (pipeline / "params.yaml").write_text("train:\n  seed: 42\n")
    (pipeline / ".dvcignore").unlink()
    (pipeline / ".dvcignore").symlink_to("/dev/zero")
    code, lines = run_main(pipeline, capsys)
    assert (code, lines) == (1, [f".dvcignore: leads outside the repository through a symlink; {suffix}"])


# --- adoption: every pipeline checked, DVC 1 locks, messages ------------------------------------


def test_a_pipeline_without_dvc_lock_is_reported_and_the_others_still_checked(
    pipeline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(pipeline, {"sub/dvc.yaml": "stages:\n  s:\n    cmd: echo s > s.txt\n    outs: [s.txt]\n"})
    (pipeline / "params.yaml").write_text("train:\n  seed: 43\n  lr: 1e-3\n  on: on\n")
    code, lines = run_main(pipeline, capsys)
    assert code == 1
    assert lines[0] == (
        "sub/dvc.lock: not found, so no stage of sub/dvc.yaml is locked: "
        "run `dvc repro sub/dvc.yaml:s`, then `git add sub/dvc.lock`"
    )
    assert "params.yaml:2: stage 'train' is stale: param train.seed changed: 42 -> 43" in lines
    assert lines[-1] == "to fix: `dvc repro train`, then `git add dvc.lock`"


def test_a_dvc_1_lock_names_the_command_that_upgrades_it(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stages = read_yaml(str(pipeline), "dvc.lock").data["stages"]
    old = {  # DVC 1's layout: stages at the top, no schema, no `hash:` fields
        name: {
            k: [{"path": i["path"], "md5": i["md5"]} for i in v] if k in ("deps", "outs") else v for k, v in e.items()
        }
        for name, e in stages.items()
    }
    (pipeline / "dvc.lock").write_text(yaml.safe_dump(old, sort_keys=False))
    assert run("dvc", "status", cwd=pipeline, check=False).returncode != 0  # DVC 3 cannot read it either
    code, lines = run_main(pipeline, capsys)
    command = "rm dvc.lock && dvc commit -f dvc.yaml"
    assert (code, lines) == (
        1,
        [
            "dvc.lock:1: a DVC 1 lock file (no `schema: '2.0'`), which neither DVC 3 nor lockship reads; with the "
            f"outputs in the workspace, rewrite it in the DVC 3 format: `{command}`, then `git add dvc.lock`"
        ],
    )
    run("sh", "-c", command, cwd=pipeline)  # the command as printed, with the outputs in the workspace
    assert run("dvc", "status", cwd=pipeline).stdout.strip() == "Data and pipelines are up to date."
    assert run_main(pipeline, capsys) == (0, [])


def test_hashes_are_shown_until_they_differ_and_paths_normalised(
    pipeline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (pipeline / "dvc.lock").read_text()
    locked = read_yaml(str(pipeline), "dvc.lock").data["stages"]["train"]["outs"][0]["md5"]
    near = locked[:10] + ("0" if locked[10] != "0" else "1") + locked[11:]
    (pipeline / "dvc.lock").write_text(text.replace(locked, near, 1))
    (problem,) = check(str(pipeline)).stale
    assert f"dep model.txt changed (md5 {locked[:11]} -> {near[:11]}, as recorded" in str(problem)
    (pipeline / "dvc.lock").write_text(text)
    (pipeline / "dvc.yaml").write_text(
        PIPELINE.replace("    metrics:\n      - score.json:\n          cache: false\n", "")
    )
    lines = run_main(pipeline, capsys)[1]
    assert "dvc.lock: stage 'score' is stale: out score.json is no longer in dvc.yaml" in lines
