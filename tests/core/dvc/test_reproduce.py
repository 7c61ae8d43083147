"""What a forced re-run covers and how its dvc.lock compares with the committed one, on plain data."""

from __future__ import annotations

from typing import Any

from lockship.core.dvc.files import Out, Stage
from lockship.core.dvc.lock import LockEntry
from lockship.core.dvc.reproduce import Difference, compare, downstream, explained, find_stage, rerun_stages


def stage(name: str, deps: tuple[str, ...], outs: tuple[str, ...], dvcfile: str = "dvc.yaml", **flags: Any) -> Stage:
    return Stage(name, dvcfile, None, f"run {name}", ".", tuple(Out(d, d) for d in deps),
                 tuple(Out(o, o) for o in outs), **flags)  # fmt: skip


def entry(deps: dict[str, str], outs: dict[str, str], cmd: str = "run", params: Any = None) -> LockEntry:
    return LockEntry(
        cmd,
        {path: {"path": path, "md5": md5} for path, md5 in deps.items()},
        {path: {"path": path, "md5": md5} for path, md5 in outs.items()},
        params or {},
        None,
    )


DATA = stage("data", (), ("raw",), frozen=True)
PREPARE = stage("prepare", ("code.py", "raw"), ("data/train", "data/test"))
TRAIN = stage("train", ("data/train/part.csv",), ("model.bin",))
REPORT = stage("report", ("model.bin",), ("report.txt",), dvcfile="sub/dvc.yaml")
OTHER = stage("report", (), ("other.txt",), dvcfile="other/dvc.yaml")
STAGES = [DATA, PREPARE, TRAIN, REPORT, OTHER]


def test_a_target_reruns_with_its_upstream_but_never_frozen_stages() -> None:
    assert rerun_stages(STAGES, None) == [PREPARE, TRAIN, REPORT, OTHER]
    assert rerun_stages(STAGES, TRAIN) == [PREPARE, TRAIN]  # a dep inside an output directory links them
    assert rerun_stages(STAGES, PREPARE) == [PREPARE]
    assert downstream(STAGES, PREPARE) == {"prepare", "train", "sub/dvc.yaml:report"}


def test_stages_are_found_by_address_or_by_an_unambiguous_name() -> None:
    assert find_stage(STAGES, "train") is TRAIN
    assert find_stage(STAGES, "sub/dvc.yaml:report") is REPORT
    assert find_stage(STAGES, "report") is None  # two dvc.yaml files have one
    assert find_stage(STAGES, "deploy") is None


def test_differing_outputs_missing_entries_and_stale_inputs_are_reported() -> None:
    committed = {
        "dvc.yaml": {
            "prepare": entry({"code.py": "c1", "raw": "r1"}, {"data/train": "t1.dir", "data/test": "s1.dir"}),
            "train": entry({"data/train/part.csv": "p1"}, {"model.bin": "m1"}),
        },
    }
    after = {
        "dvc.yaml": {
            "prepare": entry({"code.py": "c2", "raw": "r1"}, {"data/train": "t1.dir", "data/test": "s2.dir"}),
            "train": entry({"data/train/part.csv": "p2"}, {"model.bin": "m1"}, params={"params.yaml": {"lr": 1}}),
        },
        "sub/dvc.yaml": {"report": entry({"model.bin": "m1"}, {"report.txt": "x"})},
    }
    result = compare(STAGES, [PREPARE, TRAIN, REPORT], committed, after)
    assert result.outputs == 3
    assert result.differences == [Difference("data/test", "prepare", "s1.dir", "s2.dir")]
    assert str(result.differences[0]) == "data/test: md5 s1.dir -> s2.dir"
    assert result.problems == [
        "dvc.lock: stage 'prepare' was stale at this commit (code.py changed): run `dvc repro` and commit dvc.lock",
        "dvc.lock: stage 'train' was stale at this commit (params changed): run `dvc repro` and commit dvc.lock",
        "sub/dvc.lock: stage 'report' is not locked: run `dvc repro` and commit dvc.lock",
    ]


def test_fingerprint_notes_go_to_the_outputs_of_their_stage_and_downstream() -> None:
    differences = [
        Difference("data/test", "prepare", "a" * 32, "b" * 32),
        Difference("model.bin", "train", "c" * 32, None),
        Difference("report.txt", "sub/dvc.yaml:report", "d" * 32, "e" * 32),
    ]
    notes = {"train": ["BLAS kernel SkylakeX -> Haswell"], "sub/dvc.yaml:report": ["Python 3.11 -> 3.12"]}
    assert explained(STAGES, differences, notes) == [
        "data/test: md5 aaaaaaaa -> bbbbbbbb",
        "model.bin: md5 cccccccc -> (none); BLAS kernel SkylakeX -> Haswell",
        "report.txt: md5 dddddddd -> eeeeeeee; BLAS kernel SkylakeX -> Haswell; Python 3.11 -> 3.12",
    ]
