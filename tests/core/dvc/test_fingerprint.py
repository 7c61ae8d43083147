"""Environment fingerprints: found in any JSON output, compared leaf by leaf, labelled when well known."""

from __future__ import annotations

import json

from lockship.core.dvc.fingerprint import environment_changes, environment_of, label


def test_the_shallowest_environment_object_is_found_and_flattened() -> None:
    text = json.dumps({"model": {"environment": {"python": "3.12"}}, "environment": {"blas": {"kernel": "Zen"}}})
    assert environment_of(text) == {("blas", "kernel"): "Zen"}
    nested = json.dumps({"runs": [{"environment": {"python": "3.11", "libraries": {}}}]})
    assert environment_of(nested.encode()) == {("python",): "3.11", ("libraries",): {}}


def test_texts_without_an_environment_object_have_none() -> None:
    assert environment_of('{"environment": "linux"}') is None
    assert environment_of("[1, 2]") is None
    assert environment_of("not json") is None
    assert environment_of(b"\xff\xfe") is None


def test_known_keys_are_labelled_others_keep_their_dotted_path() -> None:
    assert label(("blas", "kernel")) == "BLAS kernel"
    assert label(("blas", "threads")) == "BLAS threads"
    assert label(("python",)) == "Python"
    assert label(("libraries", "scikit-learn")) == "scikit-learn version"
    assert label(("numpy_simd", "baseline")) == "numpy_simd.baseline"


def test_every_differing_leaf_is_one_change_sorted_by_path() -> None:
    committed = {("blas", "kernel"): "SkylakeX", ("blas", "threads"): 1, ("python",): "3.11", ("cpu", "avx512"): True}
    rerun = {("blas", "kernel"): "Haswell", ("blas", "threads"): 2, ("python",): "3.11", ("libraries", "numpy"): "2.4"}
    assert environment_changes(committed, rerun) == [
        "BLAS kernel SkylakeX -> Haswell",
        "BLAS threads 1 -> 2",
        "cpu.avx512 true -> (absent)",
        "numpy version (absent) -> 2.4",
    ]
    assert environment_changes(committed, committed) == []
