"""YAML alias bombs, recursive aliases and deep nesting through the hooks: one line each, in bounded memory and CPU.

The hooks run as real processes under hard limits (address space, CPU seconds): before the cap, a 3 KB
params file took minutes and gigabytes, so a regression is killed by the limit and fails the exit-code assert.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.hooks import check_lock, check_params
from tests.conftest import billion_laughs, run, run_limited
from tests.conftest import write_files as write

PIPELINE = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.seed]
    outs: [model.txt]
"""
TRAIN = "open('model.txt', 'w').write('model')\n"
CAP = "YAML aliases expand too far (over 100000 nodes)"


def inline_vars(bomb: str) -> str:
    """`bomb` (top-level keys) as the one mapping of a dvc.yaml's `vars:` list."""
    lines = bomb.splitlines()
    return "vars:\n" + "".join(f"  {'- ' if i == 0 else '  '}{line}\n" for i, line in enumerate(lines))


@pytest.fixture
def pipeline(dvc_repo: Path) -> Path:
    write(dvc_repo, {"dvc.yaml": PIPELINE, "params.yaml": "train:\n  seed: 1\n", "train.py": TRAIN})
    run("dvc", "repro", "-q", cwd=dvc_repo)
    run("git", "add", "-A", cwd=dvc_repo)
    run("git", "commit", "-qm", "reproduced", cwd=dvc_repo)
    return dvc_repo


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"params.yaml": billion_laughs() + "train:\n  seed: 1\n"}, f"params.yaml:5: {CAP}"),
        ({"dvc.yaml": inline_vars(billion_laughs()) + PIPELINE}, f"dvc.yaml:6: {CAP}"),
        ({"dvc.yaml": "vars: [bomb.yaml]\n" + PIPELINE, "bomb.yaml": billion_laughs()}, f"bomb.yaml:5: {CAP}"),
    ],
    ids=["params", "inline-vars", "vars-file"],
)
@pytest.mark.parametrize("hook", ["lockship-check-lock", "lockship-check-params"])
def test_an_alias_bomb_is_one_line_within_hard_limits(
    pipeline: Path, hook: str, files: dict[str, str], expected: str
) -> None:
    write(pipeline, files)
    result = run_limited(hook, cwd=pipeline, memory_mb=1024, cpu_seconds=60)
    assert (result.returncode, result.stderr.splitlines()) == (1, [expected])


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"params.yaml": "train: &t\n  seed: 1\n  again: *t\n"}, "params.yaml:3: YAML alias *t is inside"),
        ({"dvc.yaml": "vars:\n  - loop: &loop [*loop]\n" + PIPELINE}, "dvc.yaml:2: YAML alias *loop is inside"),
        ({"params.yaml": "train: " + "[" * 500 + "]" * 500 + "\n"}, "params.yaml:1: YAML nested too deep"),
    ],
    ids=["recursive-params", "recursive-vars", "deep"],
)
def test_recursive_aliases_and_deep_nesting_are_one_line(
    pipeline: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    expected: str,
) -> None:
    write(pipeline, files)
    monkeypatch.chdir(pipeline)
    for main in (check_lock.main, check_params.main):
        assert main([]) == 1
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith(expected), err
