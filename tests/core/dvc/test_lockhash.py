"""The lock hash: canonical over the upstream stages of dvc.lock, the stage's own sources and params."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from lockship.core.dvc.lockhash import StageInputs, compute, lock_hash, source_digests, upstream_stages
from lockship.core.errors import LockshipError
from lockship.core.yamlio import parse_yaml
from tests.conftest import copy_project

LOCK: dict[str, Any] = {
    "prepare": {
        "cmd": "python prepare.py",
        "deps": [{"path": "prepare.py", "hash": "md5", "md5": "a1" * 16, "size": 10}],
        "params": {"params.yaml": {"prepare": {"seed": 42, "test_size": 0.2}}},
        "outs": [{"path": "data/train.csv", "hash": "md5", "md5": "b1" * 16, "size": 100}],
    },
    "train": {
        "cmd": "python train.py",
        "deps": [
            {"path": "data/train.csv", "hash": "md5", "md5": "b1" * 16, "size": 100},
            {"path": "train.py", "hash": "md5", "md5": "c1" * 16, "size": 20},
        ],
        "params": {"params.yaml": {"train": {"C": 1.0}}},
        "outs": [{"path": "models/model.skops", "hash": "md5", "md5": "d1" * 16, "size": 5}],
    },
    "report": {  # not upstream of the package stage
        "deps": [{"path": "data/train.csv", "hash": "md5", "md5": "b1" * 16}],
        "outs": [{"path": "reports/summary.json", "hash": "md5", "md5": "e1" * 16}],
    },
}
INPUTS = StageInputs(deps=("models/model.skops", "serve.py"), params={"params.yaml": ("package",)})
PARAMS = {"params.yaml": {"package": {"name": "demo"}}}
SOURCES = {"serve.py": "f" * 64}


def digest(lock: dict[str, Any] = LOCK, **changes: Any) -> str:
    arguments: dict[str, Any] = {"inputs": INPUTS, "params": PARAMS, "sources": SOURCES} | changes
    return compute(lock, **arguments).digest


def test_upstream_stages_are_found_transitively_and_only_those() -> None:
    assert upstream_stages(LOCK, ["models/model.skops"]) == ["prepare", "train"]
    assert upstream_stages(LOCK, ["models"]) == ["prepare", "train"]  # a directory dep holding an out
    assert upstream_stages(LOCK, ["serve.py"]) == []


def test_the_hash_is_hex_sha256_and_the_tag_its_first_12_digits() -> None:
    result = compute(LOCK, inputs=INPUTS, params=PARAMS, sources=SOURCES)
    assert len(result.digest) == 64 and int(result.digest, 16) >= 0
    assert result.tag == result.digest[:12]
    assert result.upstream == ("prepare", "train")


def test_order_sizes_commands_and_yaml_layout_do_not_matter() -> None:
    shuffled = copy.deepcopy(LOCK)
    shuffled["train"]["deps"].reverse()
    shuffled["train"]["cmd"] = "python   train.py --verbose"
    for entry in shuffled["train"]["deps"]:
        entry.pop("size")
    reordered = dict(reversed(list(shuffled.items())))
    assert digest(reordered) == digest()
    # The same lock written in two YAML styles parses to the same hash.
    block = yaml.safe_dump({"stages": LOCK}, default_flow_style=False, sort_keys=True)
    flow = yaml.safe_dump({"stages": LOCK}, default_flow_style=True, sort_keys=False, indent=4)
    hashes = {digest(parse_yaml(text, "dvc.lock").data["stages"]) for text in (block, flow)}
    assert hashes == {digest()}
    assert digest(params={"params.yaml": {"package": {"name": "demo"}}}) == digest()


@pytest.mark.parametrize(
    "change",
    [
        lambda lock: lock["prepare"]["outs"][0].update(md5="changed"),  # upstream data
        lambda lock: lock["prepare"]["params"]["params.yaml"]["prepare"].update(seed=7),  # upstream param
        lambda lock: lock["train"]["params"]["params.yaml"]["train"].update(C=1),  # 1.0 -> 1 is a change
        lambda lock: lock["train"]["deps"][1].update(md5="changed"),  # upstream code
        lambda lock: lock["train"]["outs"][0].update(path="models/other.skops"),
    ],
)
def test_any_upstream_change_changes_the_hash(change: Any) -> None:
    changed = copy.deepcopy(LOCK)
    change(changed)
    assert digest(changed) != digest()


def test_own_sources_and_params_change_it_unrelated_stages_do_not() -> None:
    assert digest(sources={"serve.py": "0" * 64}) != digest()
    assert digest(params={"params.yaml": {"package": {"name": "other"}}}) != digest()
    unrelated = copy.deepcopy(LOCK)
    unrelated["report"]["outs"][0]["md5"] = "changed"
    assert digest(unrelated) == digest()


def write_project(root: Path) -> Path:
    (root / "serving").mkdir(parents=True)
    (root / "serving" / "app.py").write_text("print('serve')\n")
    (root / "serving" / "__pycache__").mkdir()
    (root / "serving" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0\1")
    (root / "models").mkdir()
    (root / "models" / "model.skops").write_bytes(b"model")
    dvc_yaml = {
        "stages": {
            "prepare": {"cmd": "p", "outs": ["data/train.csv"]},
            "train": {"cmd": "t", "deps": ["data/train.csv"], "outs": ["models/model.skops"]},
            "package": {"cmd": "x", "deps": ["serving", "models/model.skops"], "params": ["package.name"]},
        }
    }
    (root / "dvc.yaml").write_text(yaml.safe_dump(dvc_yaml))
    (root / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": LOCK}))
    (root / "params.yaml").write_text("package:\n  name: demo\n  base: x\n")
    return root


def test_lock_hash_of_a_project_is_the_same_in_any_directory(tmp_path: Path) -> None:
    first = lock_hash(write_project(tmp_path / "one"))
    second = tmp_path / "elsewhere" / "two"
    shutil.copytree(tmp_path / "one", second)
    (second / "serving" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"other bytecode")
    assert lock_hash(second) == first
    assert first.upstream == ("prepare", "train")


def test_lock_hash_follows_the_sources_and_params_on_disk(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    before = lock_hash(root).digest
    (root / "params.yaml").write_text("package:\n  name: demo\n  base: changed\n")  # not a param the stage reads
    assert lock_hash(root).digest == before
    (root / "params.yaml").write_text("package:\n  name: other\n  base: changed\n")
    renamed = lock_hash(root).digest
    assert renamed != before
    (root / "serving" / "app.py").write_text("print('changed')\n")
    assert lock_hash(root).digest not in (before, renamed)
    assert set(source_digests(root, ["serving"])) == {"serving/app.py"}


def test_a_stage_that_has_not_run_or_a_missing_stage_is_an_error(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    del lock["stages"]["train"]
    (root / "dvc.lock").write_text(yaml.safe_dump(lock))
    with pytest.raises(LockshipError, match="stage 'train' has not run; run `dvc repro` first"):
        lock_hash(root)
    with pytest.raises(LockshipError, match="no stage 'deploy'") as error:
        lock_hash(root, stage="deploy")
    assert error.value.exit_code == 2
    (root / "dvc.lock").unlink()
    with pytest.raises(LockshipError, match=r"dvc\.lock: file not found"):
        lock_hash(root)


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    (root / "dvc.lock").write_text("stages:\n  train: [\n")
    with pytest.raises(LockshipError, match=r"dvc\.lock:3:1: invalid YAML"):
        lock_hash(root)


def test_the_reference_image_tag_covers_the_base_lock(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    before = lock_hash(project)
    lock = project / "package" / "base.lock"
    lock.write_text(lock.read_text().replace('"version": "', '"version": "1:', 1))
    assert lock_hash(project).digest != before.digest
