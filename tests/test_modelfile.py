from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from lockship.core.errors import LockshipError
from lockship.modelfile import canonical_skops, load_model, model_bytes


@pytest.fixture(scope="module")
def forest() -> RandomForestClassifier:
    features, labels = load_iris(return_X_y=True)
    return RandomForestClassifier(n_estimators=5, random_state=0).fit(features, labels)


def test_canonical_files_are_stable_and_load_to_the_same_model(forest: RandomForestClassifier, tmp_path: Path) -> None:
    raw_first, raw_second = skops.io.dumps(forest), skops.io.dumps(forest)
    assert canonical_skops(raw_first) == canonical_skops(raw_second) == model_bytes(forest)
    archive = zipfile.ZipFile(io.BytesIO(model_bytes(forest)))
    assert archive.namelist()[0] == "schema.json"
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    (tmp_path / "m.skops").write_bytes(model_bytes(forest))
    features, _ = load_iris(return_X_y=True)
    assert np.array_equal(load_model(tmp_path / "m.skops").predict_proba(features), forest.predict_proba(features))


def test_shared_objects_stay_shared(tmp_path: Path) -> None:
    shared = np.arange(3)
    (tmp_path / "m.skops").write_bytes(canonical_skops(skops.io.dumps({"a": shared, "b": shared})))
    loaded = skops.io.load(tmp_path / "m.skops")
    assert loaded["a"] is loaded["b"]


def test_untrusted_and_broken_files_are_refused(tmp_path: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer

    skops.io.dump(FunctionTransformer(func=eval), tmp_path / "evil.skops")
    with pytest.raises(LockshipError, match=r"evil.skops: refusing to load untrusted type\(s\): builtins.eval"):
        load_model(tmp_path / "evil.skops")
    (tmp_path / "broken.skops").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(LockshipError, match=r"broken\.skops: not a skops model file"):
        load_model(tmp_path / "broken.skops")
