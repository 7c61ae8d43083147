"""check-params: params files parse, the params dvc.yaml reads exist, values fit lockship.params rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.hooks.check_params import check_pipelines, load_params, lookup, main
from tests.conftest import run

PIPELINE = """\
stages:
  prepare:
    cmd: python prepare.py
    params:
      - prepare
      - prepare.split
  train:
    cmd: python train.py
    params:
      - train.lr
      - config/extra.json:
          - batch
      - other.toml:
"""
PARAMS = """\
prepare:
  split: 0.2
  seed: 1
train:
  lr: 0.1
  estimator: forest
"""


@pytest.fixture
def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    run("git", "init", "-q", cwd=tmp_path)
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "dvc.yaml").write_text(PIPELINE)
    (tmp_path / "params.yaml").write_text(PARAMS)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "extra.json").write_text('{"batch": 32}\n')
    (tmp_path / "other.toml").write_text("depth = 3\n")
    return tmp_path


def problems(path: str = "dvc.yaml", config: str | None = None) -> list[str]:
    return check_pipelines([path], config)


def test_a_consistent_pipeline_passes(pipeline: Path) -> None:
    assert problems() == []
    assert main([]) == 0


def test_the_reference_project_passes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    assert main([]) == 0


def test_lookup_walks_mappings_and_list_indexes() -> None:
    data = {"a": {"b": [10, {"c": 3}]}}
    assert lookup(data, "a.b.1.c") == (True, 3)
    assert lookup(data, "a.b.2") == (False, None)
    assert lookup(data, "a.x") == (False, None)


def test_every_missing_param_is_named_with_the_dvc_yaml_line(pipeline: Path) -> None:
    (pipeline / "params.yaml").write_text("prepare:\n  seed: 1\ntrain: {}\n")
    (pipeline / "config" / "extra.json").write_text('{"size": 32}\n')
    assert problems() == [
        "dvc.yaml:6: stage 'prepare': param 'prepare.split' not found in params.yaml",
        "dvc.yaml:10: stage 'train': param 'train.lr' not found in params.yaml",
        "dvc.yaml:11: stage 'train': param 'batch' not found in config/extra.json",
    ]
    (pipeline / "params.yaml").write_text("train:\n  lr: 1\n")
    assert problems()[0] == "dvc.yaml:5: stage 'prepare': param 'prepare' not found in params.yaml"


def test_a_missing_params_file_is_named(pipeline: Path) -> None:
    (pipeline / "other.toml").unlink()
    assert problems() == ["dvc.yaml:13: stage 'train': params file other.toml not found"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("params.yaml", "prepare:\n  split: [0.2\n", "params.yaml:3:1: invalid YAML: did not find expected ',' or ']'"),
        ("params.yaml", "prepare: 1\nprepare: 2\n", "params.yaml:2:1: duplicate key 'prepare'"),
        ("config/extra.json", '{"batch": 32,}\n', "config/extra.json:1:14: invalid JSON: "),
        ("other.toml", "depth = \n", "other.toml:1:9: invalid TOML: "),
    ],
)
def test_parse_errors_carry_line_and_column(pipeline: Path, name: str, text: str, expected: str) -> None:
    (pipeline / name).write_text(text)
    found = problems()
    assert found[0].startswith(expected), found
    assert all(name not in line or line == found[0] for line in found)  # keys of a broken file are not judged


def test_foreach_bodies_and_vars_files_are_checked(pipeline: Path) -> None:
    (pipeline / "dvc.yaml").write_text(
        "vars:\n"
        "  - config/extra.json:batch,epochs\n"
        "stages:\n"
        "  fit:\n"
        "    foreach: [a, b]\n"
        "    do:\n"
        "      cmd: fit ${item}\n"
        "      params:\n"
        "        - train.${item}\n"
        "        - train.missing\n"
    )
    assert problems() == [
        "dvc.yaml:2: vars: param 'epochs' not found in config/extra.json",
        "dvc.yaml:10: stage 'fit': param 'train.missing' not found in params.yaml",
    ]


def test_a_pipeline_in_a_subdirectory_reads_params_beside_it(pipeline: Path) -> None:
    (pipeline / "sub").mkdir()
    (pipeline / "sub" / "dvc.yaml").write_text("stages:\n  s:\n    cmd: x\n    params: [lr]\n")
    (pipeline / "sub" / "params.yaml").write_text("rate: 1\n")
    assert problems("sub/dvc.yaml") == ["sub/dvc.yaml:4: stage 's': param 'lr' not found in sub/params.yaml"]


RULES = """\
lockship:
  params:
    prepare.split: {type: number, min: 0.0, max: 0.5}
    prepare.seed: {type: integer, min: 0}
    train.estimator: {type: string, choices: [forest, linear]}
    train.momentum: {type: number, optional: true}
    config/extra.json:batch: {type: integer, min: 1}
"""


def test_declared_types_and_ranges_pass_when_values_fit(pipeline: Path) -> None:
    (pipeline / "params.yaml").write_text(PARAMS + RULES)
    assert problems() == []


def test_values_that_break_their_rules_are_reported_at_their_line(pipeline: Path) -> None:
    (pipeline / "params.yaml").write_text(
        "prepare:\n  split: 0.7\n  seed: one\ntrain:\n  lr: 0.1\n  estimator: boosting\n" + RULES
    )
    (pipeline / "config" / "extra.json").write_text('{"batch": 0}\n')
    assert problems() == [
        "config/extra.json:1: batch: must be at least 1.0, got 0",
        "params.yaml:3: prepare.seed: expected an integer, got 'one'",
        "params.yaml:2: prepare.split: must be at most 0.5, got 0.7",
        "params.yaml:6: train.estimator: 'boosting' is not one of 'forest', 'linear'",
    ]


def test_declared_params_must_exist_unless_optional(pipeline: Path) -> None:
    (pipeline / "params.yaml").write_text(PARAMS + RULES + "    train.decay: {type: number}\n")
    assert problems() == ["params.yaml:4: param 'train.decay' is missing (declared at params.yaml:14)"]


def test_mistakes_in_the_rules_themselves_are_reported(pipeline: Path) -> None:
    (pipeline / "params.yaml").write_text(PARAMS + "lockship:\n  params:\n    train.lr: {type: float, mn: 0}\n")
    assert problems() == [
        "params.yaml:9: lockship.params.train.lr.type: 'float' is not one of "
        "'integer', 'number', 'string', 'boolean', 'list', 'mapping'",
        "params.yaml:9: lockship.params.train.lr.mn: unknown key",
    ]


def test_rules_can_come_from_another_file(pipeline: Path) -> None:
    (pipeline / "rules.yaml").write_text("lockship:\n  params:\n    params.yaml:train.lr: {type: integer}\n")
    assert problems(config="rules.yaml") == ["params.yaml:5: train.lr: expected an integer, got 0.1"]


def test_python_params_files_are_not_parsed(pipeline: Path) -> None:
    (pipeline / "params.py").write_text("LR = 1\n")
    assert load_params("params.py") is None


@pytest.mark.parametrize(
    ("files", "args", "expected"),
    [
        ({"dvc.yaml": "stages: {}\n"}, ["--dvc-yaml", "sub/dvc.yaml"], "sub/dvc.yaml: file not found"),
        ({"dvc.yaml": "stages:\n  a: [\n"}, [], "dvc.yaml:3:1: invalid YAML: "),
        ({"dvc.yaml": "- a\n"}, [], "dvc.yaml:1: expected a mapping with a 'stages' key"),
        ({"dvc.yaml": "stages: {}\n"}, ["--config", "nope.yaml"], "nope.yaml: file not found"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    args: list[str],
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    run("git", "init", "-q", cwd=tmp_path)
    (tmp_path / ".dvc").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(expected), err
    assert {p.name: p.read_text() for p in tmp_path.iterdir() if p.is_file()} == files


@pytest.mark.parametrize("setup", ["git", "dvc", "no-params"])
def test_a_repository_with_nothing_to_check_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: str) -> None:
    # Issue 9: a repository without a root dvc.yaml failed with `dvc.yaml: file not found`.
    monkeypatch.chdir(tmp_path)
    run("git", "init", "-q", cwd=tmp_path)
    (tmp_path / "README.md").write_text("hello\n")
    if setup != "git":
        (tmp_path / ".dvc").mkdir()
    if setup == "no-params":
        (tmp_path / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo\n    outs: [out.txt]\n")
    assert main([]) == 0


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


NESTED = {
    "dvc.yaml": "stages:\n  top:\n    cmd: x\n    params: [seed]\n",
    "params.yaml": "seed: 1\n",
    "sub/dvc.yaml": "stages:\n  fit:\n    cmd: x\n    wdir: model\n    params:\n      - ../../params.toml:\n"
    "          - train.lr\n      - depth\n",
    "sub/model/params.yaml": "depth: 3\n",
    "params.toml": "# shared\n[train]\nlr = 0.1\n",
    "other/dvc.yaml": "stages:\n  fit:\n    cmd: x\n    params:\n      - ../params.toml:\n          - train.lr\n",
}


def test_every_dvc_yaml_is_read_with_its_wdir_and_params_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 9 item 3: only the root dvc.yaml was read, so a param that sub/dvc.yaml reads could go missing.
    monkeypatch.chdir(tmp_path)
    run("git", "init", "-q", cwd=tmp_path)
    (tmp_path / ".dvc").mkdir()
    write(tmp_path, NESTED)
    assert main([]) == 0
    write(tmp_path, {"sub/model/params.yaml": "width: 3\n"})
    assert main([]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "sub/dvc.yaml:8: stage 'fit': param 'depth' not found in sub/model/params.yaml"
    ]
    write(tmp_path, {"sub/model/params.yaml": "depth: 3\n", "params.toml": "[train]\nrate = 0.1\n"})
    assert main([]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "other/dvc.yaml:5: stage 'fit': param 'train.lr' not found in params.toml",
        "sub/dvc.yaml:6: stage 'fit': param 'train.lr' not found in params.toml",
    ]


def test_a_broken_toml_file_fails_once_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 9 item 3: `broken = [` in a TOML params file that only a nested dvc.yaml reads passed.
    monkeypatch.chdir(tmp_path)
    run("git", "init", "-q", cwd=tmp_path)
    (tmp_path / ".dvc").mkdir()
    write(tmp_path, {**NESTED, "params.toml": "[train]\nlr = 0.1\nbroken = [\n"})
    assert main([]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0] == "params.toml:3: invalid TOML: Invalid value (at end of document)", err


def test_nested_dvc_projects_are_each_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `dvc init --subdir` projects and no root dvc.yaml: check-params said `dvc.yaml: file not found`.
    monkeypatch.chdir(tmp_path)
    run("git", "init", "-q", cwd=tmp_path)
    for project in ("a", "b"):
        write(tmp_path, {f"{project}/.dvc/config": "", f"{project}/dvc.yaml": NESTED["dvc.yaml"]})
        write(tmp_path, {f"{project}/params.yaml": "seed: 1\n"})
    run("git", "add", "-A", cwd=tmp_path)
    assert main([]) == 0
    write(tmp_path, {"b/params.yaml": "sed: 1\n"})
    assert main([]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "b/dvc.yaml:4: stage 'top': param 'seed' not found in b/params.yaml"
    ]


def test_toml_rule_findings_carry_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 9 item 9: a finding in a TOML file named no line; and two pipelines sharing rules printed them twice.
    monkeypatch.chdir(tmp_path)
    run("git", "init", "-q", cwd=tmp_path)
    (tmp_path / ".dvc").mkdir()
    rules = "lockship:\n  params:\n    params.toml:train.lr: {type: integer}\n"
    write(tmp_path, {**NESTED, "params.yaml": "seed: 1\n" + rules, "rules.yaml": rules})
    assert main([]) == 1
    assert capsys.readouterr().err.splitlines() == ["params.toml:3: train.lr: expected an integer, got 0.1"]
    assert main(["--config", "rules.yaml"]) == 1
    assert capsys.readouterr().err.splitlines() == ["params.toml:3: train.lr: expected an integer, got 0.1"]
