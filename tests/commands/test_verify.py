"""`lockship verify` on real git repositories and DVC pipelines: small ones of our own, and this project."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from lockship.cli import main as cli
from lockship.commands.verify import UNCOMMITTED_ENVIRONMENT, UNKNOWN_ENVIRONMENT, main, verify
from tests.conftest import copy_project, run, write_files

# Three stages: data -> copy -> train (a model and its metadata with an environment fingerprint) -> report.
# The "BLAS kernel" comes from an environment variable, as a real one comes from the machine.
STEPS = """\
import json, os, sys, time
from pathlib import Path

step = sys.argv[1]
kernel = os.environ.get("FAKE_BLAS_KERNEL", "SkylakeX")
if os.environ.get("FAIL_STEP") == step:
    sys.exit(f"{step}: cannot read its input")
Path("work").mkdir(exist_ok=True)
if step == "copy":
    Path("work/copy.txt").write_text(Path("data/raw.txt").read_text())
elif step == "train":
    weights = Path("work/copy.txt").read_text() + ("" if kernel == "SkylakeX" else " (rounded differently)")
    Path("work/model.bin").write_text(weights)
    environment = {"python": "3.11", "blas": {"kernel": kernel, "threads": 1}, "libraries": {"numpy": "2.0"}}
    Path("work/metadata.json").write_text(json.dumps({"rows": 3, "environment": environment}))
elif step == "report":
    Path("work/report.txt").write_text(Path("work/model.bin").read_text().upper())
elif step == "clock":
    Path("work/clock.txt").write_text(str(time.time_ns()))
"""
PIPELINE = {
    "stages": {
        "copy": {"cmd": "python steps.py copy", "deps": ["steps.py", "data/raw.txt"], "outs": ["work/copy.txt"]},
        "train": {
            "cmd": "python steps.py train",
            "deps": ["steps.py", "work/copy.txt"],
            "outs": ["work/model.bin", "work/metadata.json"],
        },
        "report": {
            "cmd": "python steps.py report",
            "deps": ["steps.py", "work/model.bin"],
            "outs": ["work/report.txt"],
        },
    }
}
CLOCK = {"cmd": "python steps.py clock", "deps": ["steps.py"], "outs": ["work/clock.txt"]}


def commit_pipeline(repo: Path, pipeline: dict[str, object]) -> None:
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    run("dvc", "repro", "--quiet", cwd=repo)
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-qm", "pipeline", cwd=repo)


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed, reproduced pipeline whose data file is tracked by DVC (so it comes from the cache)."""
    repo = tmp_path_factory.mktemp("verify") / "repo"
    run("git", "init", "-q", repo, cwd=repo.parent)
    run("dvc", "init", "-q", cwd=repo)
    write_files(repo, {"steps.py": STEPS, "data/raw.txt": "a,b,c\n"})
    run("dvc", "add", "--quiet", "data/raw.txt", cwd=repo)
    commit_pipeline(repo, PIPELINE)
    return repo


@pytest.fixture
def pipeline(reproduced: Path, tmp_path: Path) -> Path:
    """A copy of the reproduced pipeline for one test (building one takes several dvc runs)."""
    return Path(shutil.copytree(reproduced, tmp_path / "repo", symlinks=True))


def snapshot(repo: Path) -> tuple[str, dict[str, int]]:
    """`git status` and the modification time of every file outside .git."""
    times = {
        str(path.relative_to(repo)): path.lstat().st_mtime_ns
        for path in sorted(repo.rglob("*"))
        if ".git" not in path.relative_to(repo).parts
    }
    return run("git", "status", "--porcelain", "--ignored", cwd=repo).stdout, times


def worktrees(repo: Path) -> list[str]:
    return [line for line in run("git", "worktree", "list", "--porcelain", cwd=repo).stdout.splitlines()
            if line.startswith("worktree ")]  # fmt: skip


def test_a_reproducible_pipeline_passes_and_the_checkout_is_untouched(
    pipeline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(pipeline)
    assert main(["--repo", str(pipeline)]) == 0
    captured = capsys.readouterr()
    commit = run("git", "rev-parse", "HEAD", cwd=pipeline).stdout.strip()
    assert captured.out == f"4 outputs of 3 stages reproduce dvc.lock at {commit[:12]}\n"
    assert snapshot(pipeline) == before
    assert worktrees(pipeline) == [f"worktree {pipeline}"]
    scratch = re.search(r" in (\S+)$", captured.err.splitlines()[0])
    assert scratch and not Path(scratch[1]).exists()


def test_a_stage_writing_the_time_fails_naming_its_output(
    pipeline: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_pipeline(pipeline, {"stages": {**PIPELINE["stages"], "clock": CLOCK}})  # type: ignore[dict-item]
    before = snapshot(pipeline)
    monkeypatch.chdir(pipeline)
    assert cli(["verify"]) == 1
    lines = capsys.readouterr().err.splitlines()[1:]
    assert len(lines) == 2
    assert re.fullmatch(r"work/clock\.txt: md5 [0-9a-f]{8} -> [0-9a-f]{8}", lines[0])
    assert lines[1].startswith("1 of 5 outputs of 4 stages differ from dvc.lock at ")
    assert snapshot(pipeline) == before
    # Only the stage asked for and those it needs are re-run: the clock stage is not among them.
    assert main(["--stage", "report"]) == 0
    assert capsys.readouterr().out.startswith("4 outputs of 3 stages reproduce dvc.lock")


def test_fingerprint_changes_are_printed_on_every_differing_output_downstream(
    pipeline: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BLAS_KERNEL", "Haswell")
    outcome = verify(str(pipeline))
    assert outcome.differences == 3 and outcome.outputs == 4 and outcome.stages == 3
    assert [line.split(": md5 ")[0] for line in outcome.lines] == [
        "work/model.bin",
        "work/metadata.json",
        "work/report.txt",
    ]
    for line in outcome.lines:
        assert line.endswith("; BLAS kernel SkylakeX -> Haswell"), line


def test_a_committed_fingerprint_missing_from_the_cache_is_said(
    pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = yaml.safe_load((pipeline / "dvc.lock").read_text())
    md5 = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "work/metadata.json")
    (pipeline / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).unlink()
    monkeypatch.setenv("FAKE_BLAS_KERNEL", "Zen")
    lines = verify(str(pipeline)).lines
    assert lines[0].startswith("work/model.bin: md5 ")
    assert lines[0].endswith(f"; {UNKNOWN_ENVIRONMENT}")


def test_the_committed_fingerprint_of_an_uncached_output_comes_from_git(
    pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train = {**PIPELINE["stages"]["train"], "outs": ["work/model.bin", {"work/metadata.json": {"cache": False}}]}
    commit_pipeline(pipeline, {"stages": {**PIPELINE["stages"], "train": train}})
    monkeypatch.setenv("FAKE_BLAS_KERNEL", "Zen")
    # DVC leaves a once-cached output git-ignored: this commit has no metadata.json.
    assert verify(str(pipeline), stage="train").lines[-1].endswith(f"; {UNCOMMITTED_ENVIRONMENT}")
    ignored = pipeline / "work/.gitignore"
    ignored.write_text(ignored.read_text().replace("/metadata.json\n", ""))
    run("git", "add", "-A", cwd=pipeline)
    run("git", "commit", "-qm", "metadata.json in git", cwd=pipeline)
    assert "work/metadata.json" in run("git", "ls-files", cwd=pipeline).stdout
    lines = verify(str(pipeline), stage="train").lines
    assert [line.split(": md5 ")[0] for line in lines] == ["work/model.bin", "work/metadata.json"]
    for line in lines:
        assert line.endswith("; BLAS kernel SkylakeX -> Zen"), line


def test_missing_dvc_data_asks_for_a_pull(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(pipeline / ".dvc/cache")
    assert main(["--repo", str(pipeline)]) == 1
    cache = (pipeline / ".dvc/cache").resolve()
    assert capsys.readouterr().err.splitlines()[1:] == [
        f"data/raw.txt: not in the DVC cache ({cache}): run `dvc pull` first"
    ]


def test_a_failing_stage_passes_its_error_through(
    pipeline: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL_STEP", "train")
    assert main(["--repo", str(pipeline)]) == 1
    err = capsys.readouterr().err
    assert "train: cannot read its input" in err.splitlines()
    assert "failed to reproduce 'train'" in err
    assert err.splitlines()[-1].startswith("lockship verify: the re-run failed")
    assert "Traceback" not in err
    assert worktrees(pipeline) == [f"worktree {pipeline}"]


def test_keep_keeps_the_scratch_worktree_and_says_where(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(pipeline), "--keep"]) == 0
    kept = re.search(r"scratch worktree kept at (\S+) ", capsys.readouterr().err)
    assert kept
    scratch = Path(kept[1])
    try:
        assert (scratch / "work/report.txt").read_text() == "A,B,C\n"
        assert f"worktree {scratch}" in worktrees(pipeline)
    finally:
        run("git", "worktree", "remove", "--force", scratch, cwd=pipeline)


def test_a_lock_stale_at_the_commit_is_named(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (pipeline / "steps.py").write_text(STEPS + "# edited without dvc repro\n")
    run("git", "commit", "-qam", "edit steps.py", cwd=pipeline)
    assert main(["--repo", str(pipeline), "--stage", "copy"]) == 1
    assert "dvc.lock: stage 'copy' was stale at this commit (steps.py changed)" in capsys.readouterr().err


def test_usage_errors_exit_2(tmp_path: Path, pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert main(["--repo", str(elsewhere)]) == 2
    assert capsys.readouterr().err == f"{elsewhere}: not a git repository\n"
    plain = tmp_path / "plain"
    run("git", "init", "-q", plain, cwd=tmp_path)
    assert main(["--repo", str(plain)]) == 2
    assert "not a DVC repository" in capsys.readouterr().err
    run("git", "rm", "-q", "dvc.lock", cwd=pipeline)
    run("git", "commit", "-qm", "no lock", cwd=pipeline)
    assert main(["--repo", str(pipeline)]) == 2
    assert "no dvc.lock committed" in capsys.readouterr().err
    run("git", "revert", "--no-edit", "HEAD", cwd=pipeline)
    assert main(["--repo", str(pipeline), "--stage", "deploy"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "--stage deploy: no such stage (stages: copy, train, report)"


def test_the_reference_pipeline_reproduces_in_a_copy_of_this_project(tmp_path: Path) -> None:
    """The first two stages only: `make test` runs the whole of it after the suite."""
    project = copy_project(tmp_path / "project")
    before = snapshot(project)
    result = run("lockship", "verify", "--stage", "validate", cwd=project)
    assert result.stdout.startswith("3 outputs of 2 stages reproduce dvc.lock at ")
    assert snapshot(project) == before


def test_several_dvc_yaml_files_and_a_frozen_stage(pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A frozen stage is not re-run: its output (here the time it ran) comes from the DVC cache."""
    summary = {
        "cmd": "python -c \"import pathlib; pathlib.Path('summary.txt').write_text("
        "pathlib.Path('../work/report.txt').read_text() + pathlib.Path('../work/seed.txt').read_text())\"",
        "deps": ["../work/report.txt", "../work/seed.txt"],
        "outs": ["summary.txt"],
    }
    write_files(pipeline, {"sub/dvc.yaml": yaml.safe_dump({"stages": {"summary": summary}})})
    seed = {"cmd": "python steps.py clock && mv work/clock.txt work/seed.txt", "outs": ["work/seed.txt"]}
    commit_pipeline(pipeline, {"stages": {"seed": seed, **PIPELINE["stages"]}})  # type: ignore[dict-item]
    run("dvc", "repro", "--quiet", "sub/dvc.yaml:summary", cwd=pipeline)
    run("dvc", "freeze", "--quiet", "seed", cwd=pipeline)
    run("git", "add", "-A", cwd=pipeline)
    run("git", "commit", "-qm", "a frozen seed and a second dvc.yaml", cwd=pipeline)
    assert main(["--repo", str(pipeline)]) == 0
    assert capsys.readouterr().out.startswith("5 outputs of 4 stages reproduce dvc.lock")


def test_a_dvc_project_in_a_subfolder_of_the_repository(git_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = git_repo / "ml"
    project.mkdir()
    run("dvc", "init", "--subdir", "-q", cwd=project)
    stage = {"cmd": "python -c \"open('out.txt', 'w').write('same')\"", "outs": ["out.txt"]}
    commit_pipeline(project, {"stages": {"write": stage}})
    assert main(["--repo", str(project), "--stage", "write"]) == 0
    assert capsys.readouterr().out.startswith("1 output of 1 stage reproduces dvc.lock")
