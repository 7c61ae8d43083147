"""What a dvc.yaml declares, as written: params references and outputs with their flags."""

from __future__ import annotations

from lockship.core.dvc.files import parse_dvc_yaml
from lockship.core.dvc.refs import DeclaredOut, ParamsRef, declared_outs, params_refs

PIPELINE = """\
vars:
  - config/extra.yaml:lr,epochs
  - ${dynamic}.yaml
metrics:
  - reports/top.json
stages:
  prepare:
    cmd: run
    params: [prepare.split, {config/extra.yaml: [lr]}]
    outs: [data/clean.csv]
  fit:
    foreach: [a, b]
    do:
      wdir: models
      cmd: fit ${item}
      params:
        - fit.${item}
        - other.toml:
      outs:
        - ${item}.bin
        - log.txt: {cache: false}
      metrics:
        - scores/${item}.json: {push: false}
"""


def test_params_refs_skip_templates_and_keep_their_lines() -> None:
    refs = params_refs(parse_dvc_yaml(PIPELINE, "sub/dvc.yaml"))
    assert refs == [
        ParamsRef("sub/config/extra.yaml", ("lr", "epochs"), "sub/dvc.yaml:2: vars"),
        ParamsRef("sub/params.yaml", ("prepare.split",), "sub/dvc.yaml:9: stage 'prepare'"),
        ParamsRef("sub/config/extra.yaml", ("lr",), "sub/dvc.yaml:9: stage 'prepare'"),
        ParamsRef("sub/models/other.toml", (), "sub/dvc.yaml:18: stage 'fit'"),
    ]


def test_declared_outs_through_wdir_and_do_with_their_flags() -> None:
    document = parse_dvc_yaml(PIPELINE, "sub/dvc.yaml@abc1234")
    assert declared_outs(document, "sub/dvc.yaml") == [
        DeclaredOut("sub/data/clean.csv", "outs", True, True, "sub/dvc.yaml@abc1234:10: stage 'prepare'", "prepare"),
        DeclaredOut("sub/models/${item}.bin", "outs", True, True, "sub/dvc.yaml@abc1234:20: stage 'fit'", "fit"),
        DeclaredOut("sub/models/log.txt", "outs", False, True, "sub/dvc.yaml@abc1234:21: stage 'fit'", "fit"),
        DeclaredOut(
            "sub/models/scores/${item}.json", "metrics", True, False, "sub/dvc.yaml@abc1234:23: stage 'fit'", "fit"
        ),
        DeclaredOut("sub/reports/top.json", "metrics", True, True, "sub/dvc.yaml@abc1234:5", None),
    ]


def test_other_shapes_declare_nothing() -> None:
    assert declared_outs(parse_dvc_yaml("- a\n", "dvc.yaml")) == []
    assert params_refs(parse_dvc_yaml("stages: {s: 3}\n", "dvc.yaml")) == []
