"""The model directory an image serves: the stages' outputs plus what the server checks itself against.

Loading the model here (the one place that needs scikit-learn) records what the pipeline predicts
for the example row, and, for a scaled logistic regression (linear.json) or a random forest or
gradient boosting (trees.json), its parameters as a fast path verified against the pipeline on the
example row and rows spread over every feature's range, and read back from model.skops without
scikit-learn as the server will. The server then starts without scikit-learn and still proves at
every start that it answers as packaged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lockship.core.data.schema import Scalar, load_schema
from lockship.core.errors import LockshipError
from lockship.core.jsonfields import read_json
from lockship.core.model.directory import LINEAR_FILE, TREES_FILE, write_model_dir
from lockship.core.model.info import PackageInfo, read_metadata
from lockship.core.model.signing import sign_model_dir
from lockship.modelfile import load_model
from lockship.packaging.treeexport import extract_trees
from lockship.serving.derived import check_derived
from lockship.serving.derivedtrees import check_derived_trees
from lockship.serving.linear import LinearModel, extract, numeric_inputs
from lockship.serving.predictor import FastPath, check_rows, pipeline_predictor, verified_fast_path
from lockship.serving.trees import MAX_TREES_BYTES

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PathLike = str | os.PathLike[str]


def assemble_model_dir(
    target_dir: PathLike,
    *,
    model_path: PathLike,
    metadata_path: PathLike,
    schema_path: PathLike,
    profile_path: PathLike,
    lock_hash: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    example: Mapping[str, Scalar | None],
    signing_key: Ed25519PrivateKey | None = None,
) -> PackageInfo:
    """Write the model directory at `target_dir` (all at once) with the example's probabilities and any fast path.

    With `signing_key`, package.json (which names every file's sha256) is signed into package.json.sig.
    """
    metadata = read_metadata(metadata_path)
    names = [feature.name for feature in metadata.features]
    pipeline = pipeline_predictor(load_model(model_path), names, metadata.classes, where=os.fspath(model_path))
    from lockship.serving.frames import input_frame

    schema = load_schema(schema_path)
    missing = [name for name in names if name not in example]
    if missing:
        raise LockshipError(f"{os.fspath(metadata_path)}: the example row lacks feature(s) {', '.join(missing)}")
    try:
        probabilities = pipeline.predict_frame(input_frame([[example[name] for name in names]], names, schema))
    except Exception as error:  # the model's own failure on a valid row: nothing to package
        raise LockshipError(f"{os.fspath(model_path)}: cannot predict the example row: {error}") from error
    fast: FastPath | None = None
    if numeric_inputs(schema, names):
        profile = read_json(profile_path).data
        rows = check_rows(names, schema, profile if isinstance(profile, Mapping) else {}, example)
        fast = verified_fast_path(pipeline, rows, (extract, extract_trees))
    if fast is not None:
        # The server reads the parameters back from model.skops at every start: package only what it can read.
        try:
            if isinstance(fast, LinearModel):
                check_derived(fast, linear_path=LINEAR_FILE, model_path=model_path, features=names)
            else:
                check_derived_trees(fast, trees_path=TREES_FILE, model_path=model_path, features=names)
        except LockshipError:
            fast = None
    trees = None if fast is None or isinstance(fast, LinearModel) else fast.to_text()
    if trees is not None and len(trees.encode()) > MAX_TREES_BYTES:
        fast = trees = None  # more than the server reads: it is served through its pipeline
    packaged = write_model_dir(
        target_dir,
        model_path=model_path,
        metadata_path=metadata_path,
        schema_path=schema_path,
        profile_path=profile_path,
        lock_hash=lock_hash,
        params=params,
        metrics=metrics,
        example=example,
        example_probabilities=probabilities.probabilities[0].tolist(),
        linear=fast.to_json() if isinstance(fast, LinearModel) else None,
        trees=trees,
    )
    if signing_key is not None:
        sign_model_dir(target_dir, signing_key)
    return packaged
