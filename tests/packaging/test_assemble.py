"""The packaged model directory records the pipeline's answer to the example row and a verified fast path."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lockship.core.errors import LockshipError
from lockship.core.model.directory import LINEAR_FILE, read_model_dir
from lockship.core.model.signing import VERIFIED, load_private_key, read_verified_model_dir, write_key_pair
from lockship.modelfile import load_model
from lockship.packaging.assemble import assemble_model_dir
from tests.serving import conftest as serving
from tests.serving.conftest import Trained

trained = serving.trained


def _assemble(trained: Trained, target: Path, **overrides: object) -> None:
    work = trained.work
    example = json.loads((trained.model_dir / "package.json").read_text())["example"]
    settings: dict[str, object] = {"model_path": work / "model.skops", "metadata_path": work / "metadata.json",
                                   "schema_path": work / "schema.yaml", "profile_path": work / "profile.json",
                                   "lock_hash": "ab" * 32, "params": {}, "metrics": {},
                                   "example": example} | overrides  # fmt: skip
    assemble_model_dir(target, **settings)  # type: ignore[arg-type]


def test_the_example_answer_and_fast_path_are_recorded(trained: Trained, tmp_path: Path) -> None:
    _assemble(trained, tmp_path / "out")
    model_dir = read_model_dir(tmp_path / "out")
    model = load_model(model_dir.model_path)
    example = pd.DataFrame([model_dir.package.example])
    assert list(model_dir.package.example_probabilities) == model.predict_proba(example)[0].tolist()
    assert model_dir.linear_path == tmp_path / "out" / LINEAR_FILE
    linear = json.loads(model_dir.linear_path.read_text())
    assert linear["classes"] == [0, 1] and len(linear["positions"]) == len(model_dir.features)


def test_assembling_twice_gives_the_same_bytes(trained: Trained, tmp_path: Path) -> None:
    _assemble(trained, tmp_path / "one")
    _assemble(trained, tmp_path / "two")
    for path in sorted((tmp_path / "one").iterdir()):
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes(), path.name


def test_an_example_without_every_feature_is_refused(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(LockshipError, match=r"metadata\.json: the example row lacks feature"):
        _assemble(trained, tmp_path / "out", example={"mean radius": 10.0})
    assert not (tmp_path / "out").exists()


def test_a_signing_key_signs_the_directory(trained: Trained, tmp_path: Path) -> None:
    write_key_pair(tmp_path / "keys")
    key = load_private_key(tmp_path / "keys" / "lockship.key", where="test")
    _assemble(trained, tmp_path / "out", signing_key=key)
    model_dir, provenance = read_verified_model_dir(tmp_path / "out", key.public_key())
    assert provenance.status == VERIFIED and model_dir.linear_path is not None
