"""guard-data: data and model files go to DVC, not git; DVC's `cache: false` outputs stay allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.hooks.guard_data import DEFAULT_PATTERNS, DvcOutputs, dvc_outputs, guard, main
from tests.conftest import run

NO_OUTPUTS = DvcOutputs(cached={}, in_git={})


def check(files: dict[str, int], outputs: DvcOutputs = NO_OUTPUTS, **options: object) -> list[str]:
    settings: dict[str, object] = {"max_kb": 500, "patterns": DEFAULT_PATTERNS, "allow": ()}
    settings.update(options)
    return guard(files, outputs, **settings)  # type: ignore[arg-type]


def test_data_and_model_patterns_are_blocked_with_the_fixing_command() -> None:
    problems = check({"data/raw.csv": 10, "models/model.skops": 10, "src/train.py": 10, "README.md": 10})
    assert problems == [
        "data/raw.csv: a data or model file (*.csv) staged in git; "
        "track it with DVC instead: git rm --cached data/raw.csv && dvc add data/raw.csv",
        "models/model.skops: a data or model file (*.skops) staged in git; "
        "track it with DVC instead: git rm --cached models/model.skops && dvc add models/model.skops",
    ]


def test_patterns_ignore_letter_case_and_the_command_is_shell_quoted(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(git_repo)
    names = ["DATA.CSV", "model.PKL", "weights.Safetensors", "big file é.bin", "it's $(touch pwned).npy"]
    for name in names:
        (git_repo / name).write_bytes(b"x" * (600 * 1024 if name.endswith(".bin") else 10))
    run("git", "add", "--", *names, cwd=git_repo)
    assert main(names) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "DATA.CSV: a data or model file (*.csv) staged in git; "
        "track it with DVC instead: git rm --cached DATA.CSV && dvc add DATA.CSV",
        "big file é.bin: 600 KB, over the 500 KB limit for files in git; "
        "track it with DVC instead: git rm --cached 'big file é.bin' && dvc add 'big file é.bin'",
        "it's $(touch pwned).npy: a data or model file (*.npy) staged in git; "
        "track it with DVC instead: git rm --cached 'it'\"'\"'s $(touch pwned).npy' "
        "&& dvc add 'it'\"'\"'s $(touch pwned).npy'",
        "model.PKL: a data or model file (*.pkl) staged in git; "
        "track it with DVC instead: git rm --cached model.PKL && dvc add model.PKL",
        "weights.Safetensors: a data or model file (*.safetensors) staged in git; "
        "track it with DVC instead: git rm --cached weights.Safetensors && dvc add weights.Safetensors",
    ]
    for line in err:  # each command, pasted into a shell, unstages exactly its file
        command = line.split("instead: ")[1].split(" && ")[0]
        run("sh", "-c", command, cwd=git_repo)
    assert run("git", "diff", "--cached", "--name-only", cwd=git_repo).stdout == ""
    assert not (git_repo / "pwned").exists()


def test_files_over_the_size_limit_are_blocked_whatever_their_name() -> None:
    problems = check({"blob.bin": 501 * 1024, "ok.bin": 500 * 1024}, max_kb=500)
    assert problems == [
        "blob.bin: 501 KB, over the 500 KB limit for files in git; "
        "track it with DVC instead: git rm --cached blob.bin && dvc add blob.bin"
    ]


def test_cache_false_outputs_belong_in_git_even_when_they_match_a_pattern() -> None:
    outputs = DvcOutputs(cached={}, in_git={"plots/roc.csv": "dvc.yaml:9", "metrics.json": "dvc.yaml:7"})
    assert check({"plots/roc.csv": 10, "metrics.json": 10}, outputs) == []


def test_files_dvc_already_caches_are_blocked_with_git_rm_cached() -> None:
    outputs = DvcOutputs(cached={"data/raw": "data/raw.dvc", "models/model.pt": "dvc.yaml:3: stage 'train'"}, in_git={})
    problems = check({"data/raw/part-1.csv": 10, "models/model.pt": 10}, outputs)
    assert problems == [
        "data/raw/part-1.csv: tracked by DVC (data/raw.dvc) and staged in git too; git rm --cached data/raw/part-1.csv",
        "models/model.pt: tracked by DVC (dvc.yaml:3: stage 'train') and staged in git too; "
        "git rm --cached models/model.pt",
    ]


def test_allow_patterns_and_custom_patterns() -> None:
    assert check({"tests/data/tiny.csv": 10}, allow=["tests/data/*.csv"]) == []
    assert check({"weights.bin": 10}, patterns=["*.bin"]) != []
    assert check({"data/raw.csv": 10}, patterns=[]) == []


def test_dvc_outputs_reads_dvc_files_and_every_stage_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "data.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data\n")
    (tmp_path / "sub" / "dvc.yaml").write_text(
        "stages:\n"
        "  train:\n"
        "    wdir: ..\n"
        "    cmd: python train.py\n"
        "    outs: [models/model.pt]\n"
        "    metrics: [{metrics.json: {cache: false}}]\n"
        "  split:\n"
        "    foreach: [a, b]\n"
        "    do:\n"
        "      cmd: split ${item}\n"
        "      outs:\n"
        "        - parts/${item}.csv\n"
    )
    outputs = dvc_outputs(["data.dvc", "sub/dvc.yaml"])
    assert set(outputs.cached) == {"data", "models/model.pt", "sub/parts/a.csv", "sub/parts/b.csv"}
    assert set(outputs.in_git) == {"metrics.json"}
    assert check({"sub/parts/a.csv": 1, "sub/parts/c.csv": 1, "data/x.parquet": 1, "metrics.json": 1}, outputs) == [
        "data/x.parquet: tracked by DVC (data.dvc) and staged in git too; git rm --cached data/x.parquet",
        "sub/parts/a.csv: tracked by DVC (sub/dvc.yaml:12: stage 'split@a') and staged in git too; "
        "git rm --cached sub/parts/a.csv",
        "sub/parts/c.csv: a data or model file (*.csv) staged in git; "
        "track it with DVC instead: git rm --cached sub/parts/c.csv && dvc add sub/parts/c.csv",
    ]


TEMPLATED = """\
vars:
  - config/paths.yaml
stages:
  eval:
    cmd: python eval.py
    outs:
      - ${eval.model_path}
      - reports/${name}/
    metrics:
      - ${eval.scores}:
          cache: false
"""


def test_templated_outputs_are_resolved_not_widened_to_globs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 9 item 1: `${eval.model_path}` became the glob `*`, and every staged file was "tracked by DVC".
    run("git", "init", "-q", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "paths.yaml").write_text("name: nightly\n")
    (tmp_path / "params.yaml").write_text("eval:\n  model_path: models/model.pkl\n  scores: scores.json\n")
    (tmp_path / "dvc.yaml").write_text(TEMPLATED)
    harmless = ["README.md", "params.yaml", "dvc.yaml", "eval.py", "scores.json"]
    for name in ("README.md", "eval.py", "scores.json"):
        (tmp_path / name).write_text("x\n")
    assert main(harmless) == 0
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.pkl").write_text("weights\n")
    (tmp_path / "reports" / "nightly").mkdir(parents=True)
    (tmp_path / "reports" / "nightly" / "page.html").write_text("<p>\n")
    assert main([*harmless, "models/model.pkl", "reports/nightly/page.html"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "models/model.pkl: tracked by DVC (dvc.yaml:7: stage 'eval') and staged in git too; "
        "git rm --cached models/model.pkl",
        "reports/nightly/page.html: tracked by DVC (dvc.yaml:8: stage 'eval') and staged in git too; "
        "git rm --cached reports/nightly/page.html",
    ]


def test_an_unresolvable_template_is_skipped_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run("git", "init", "-q", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    outs = "[models/fixed.pt, '${eval.model_path}']"
    (tmp_path / "dvc.yaml").write_text(f"stages:\n  eval:\n    cmd: x\n    outs: {outs}\n")
    (tmp_path / "README.md").write_text("hello\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "fixed.pt").write_text("w\n")
    assert main(["README.md"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "note: dvc.yaml:4: stage 'eval': out ${eval.model_path} not checked: dvc.yaml:2: stage 'eval': "
        "cannot interpolate ${eval.model_path}: 'eval.model_path' is not defined"
    ]
    assert main(["models/fixed.pt"]) == 1
    assert "models/fixed.pt: tracked by DVC (dvc.yaml:4: stage 'eval')" in capsys.readouterr().err


def test_main_in_the_reference_project(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    (project / "plots").mkdir(exist_ok=True)
    (project / "plots" / "roc.csv").write_text("fpr,tpr\n0,0\n")
    (project / "notes.md").write_text("hello\n")
    assert main(["plots/roc.csv", "metrics.json", "notes.md", "params.yaml"]) == 0
    (project / "extra.csv").write_text("a,b\n1,2\n")
    (project / "data" / "prepared").mkdir(parents=True, exist_ok=True)
    (project / "data" / "prepared" / "train.csv").write_text("a\n1\n")
    assert main(["extra.csv", "data/prepared/train.csv", "notes.md"]) == 1
    err = capsys.readouterr().err.splitlines()
    line = next(
        n
        for n, text in enumerate((project / "dvc.yaml").read_text().splitlines(), 1)
        if "- data/prepared/train.csv" in text
    )
    assert err == [
        f"data/prepared/train.csv: tracked by DVC (dvc.yaml:{line}: stage 'prepare') and staged in git too; "
        "git rm --cached data/prepared/train.csv",
        "extra.csv: a data or model file (*.csv) staged in git; "
        "track it with DVC instead: git rm --cached extra.csv && dvc add extra.csv",
    ]


@pytest.mark.parametrize(
    ("setup", "args", "code", "message"),
    [
        ("none", ["x.txt"], 1, "{cwd}: not a git repository"),
        ("git", ["missing.txt"], 1, "missing.txt: file not found"),
        ("bad-dvc-yaml", ["x.txt"], 1, "dvc.yaml:2:1: invalid YAML: "),
        ("git", ["--max-kb", "0", "x.txt"], 2, "--max-kb: must be at least 1"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    args: list[str],
    code: int,
    message: str,
) -> None:
    if setup != "none":
        run("git", "init", "-q", cwd=tmp_path)
    if setup == "bad-dvc-yaml":
        (tmp_path / "dvc.yaml").write_text("stages: [\n: :\n")
    (tmp_path / "x.txt").write_text("x\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    assert main(args) == code
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(message.format(cwd=tmp_path)), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
