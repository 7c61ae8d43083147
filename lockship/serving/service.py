"""Everything a request needs, loaded and verified once at start-up."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from anyio import CapacityLimiter, to_thread

from lockship.core.errors import LockshipError
from lockship.core.model.directory import ModelDir
from lockship.core.model.signing import Provenance, load_public_key, read_verified_model_dir
from lockship.serving.config import ENV_PUBLIC_KEY, ServeConfig
from lockship.serving.derived import check_derived
from lockship.serving.derivedtrees import check_derived_trees
from lockship.serving.inputlog import InputLog
from lockship.serving.inputs import Decoder, Inputs
from lockship.serving.linear import read_linear
from lockship.serving.predictor import Prediction, Predictor, pipeline_predictor, smoke_test
from lockship.serving.telemetry import Telemetry
from lockship.serving.trees import read_trees

log = logging.getLogger("lockship.serve")

# A fast path answers a batch of up to this many rows in well under a millisecond (tree walk about 0.2 ms for
# one row, 2 ms for 64), less than a hop to a thread costs the loop; bigger batches, and every call of a
# scikit-learn pipeline (10 to 50 ms each for a forest), run in the worker pool, so that one slow prediction
# cannot hold up readiness, /metrics and every other request.
INLINE_ROWS = 64
# Threads of the pool: numpy and the trees of scikit-learn release the GIL, so more than the cores would only
# queue; the requests beyond them wait without holding the event loop (their bodies are already bounded).
POOL_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class Service:
    config: ServeConfig
    model_dir: ModelDir
    predictor: Predictor
    decoder: Decoder
    telemetry: Telemetry
    input_log: InputLog
    provenance: Provenance
    ready: bool = False
    pool: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(POOL_THREADS))

    @property
    def version(self) -> str:
        return self.model_dir.package.lock_hash[:12]

    def predict(self, inputs: Inputs) -> Prediction:
        """Predict, count the classes and queue the inputs for the input log."""
        flagged = [(flag.record, flag.field, flag.reason) for flag in inputs.flagged]
        if inputs.matrix is not None:
            prediction = self.predictor.predict(inputs.matrix)
            self.input_log.append(inputs.matrix, inputs.rows, flagged)
        else:
            prediction = self.predictor.predict_frame(inputs.frame)
            self.input_log.append(inputs.values, inputs.rows, flagged)
        if flagged:
            self.telemetry.count_flagged([(field, reason) for _, field, reason in flagged])
        counts = np.bincount(prediction.indices, minlength=len(self.predictor.classes))
        self.telemetry.count_classes(self.predictor.classes, counts.tolist())
        return prediction

    def inline(self, inputs: Inputs) -> bool:
        """Whether a prediction is short enough to run on the event loop itself."""
        return self.predictor.fast is not None and inputs.rows <= INLINE_ROWS

    async def predict_async(self, inputs: Inputs) -> Prediction:
        """`predict`, on the event loop when it is short, else in the bounded worker pool."""
        if self.inline(inputs):
            return self.predict(inputs)
        return await to_thread.run_sync(self.predict, inputs, limiter=self.pool)

    def labels(self, prediction: Prediction) -> list[Any]:
        classes = self.predictor.classes
        return [classes[index] for index in prediction.indices.tolist()]


def load_predictor(model_dir: ModelDir) -> Predictor:
    """A fast path (linear.json, trees.json) when packaging wrote one and it is model.skops' own, else the pipeline.

    Neither fast path imports scikit-learn: the parameters are read back from model.skops directly.
    """
    names = [feature.name for feature in model_dir.features]
    if model_dir.linear_path is not None:
        fast = read_linear(model_dir.linear_path, features=len(names))
        if list(fast.classes) != list(model_dir.classes):
            raise LockshipError(f"{model_dir.linear_path}: classes {list(fast.classes)} differ from the metadata's")
        check_derived(fast, linear_path=model_dir.linear_path, model_path=model_dir.model_path, features=names)
        return Predictor(model_dir.classes, names, fast=fast)
    if model_dir.trees_path is not None:
        trees = read_trees(model_dir.trees_path, features=len(names))
        if list(trees.classes) != list(model_dir.classes):
            raise LockshipError(f"{model_dir.trees_path}: classes {list(trees.classes)} differ from the metadata's")
        check_derived_trees(trees, trees_path=model_dir.trees_path, model_path=model_dir.model_path, features=names)
        return Predictor(model_dir.classes, names, fast=trees)
    try:
        from lockship.modelfile import load_model

        model = load_model(model_dir.model_path)
    except ModuleNotFoundError as error:
        raise LockshipError(
            f"{model_dir.model_path}: serving this model through its pipeline needs the module '{error.name}', "
            "which is not installed here (an image packaged for a model with a fast path leaves scikit-learn out)"
        ) from error
    return pipeline_predictor(model, names, model_dir.classes, where=str(model_dir.model_path))


def load_service(config: ServeConfig) -> Service:
    """Read and verify the model directory, load the model and run the smoke prediction.

    A file whose sha256 differs from the one recorded at packaging is refused here, and with a public key
    configured, a directory whose package.json it does not verify.
    """
    start = time.perf_counter()
    key = None if config.public_key is None else load_public_key(config.public_key.encode(), where=ENV_PUBLIC_KEY)
    model_dir, provenance = read_verified_model_dir(config.model_dir, key)
    predictor = load_predictor(model_dir)
    smoke_test(predictor, model_dir)
    package = model_dir.package
    telemetry = Telemetry(
        lock_hash=package.lock_hash,
        model_sha256=package.model_sha256,
        model_name=config.model_name,
    )
    try:
        input_log = InputLog(config.input_log, predictor.features, on_drop=telemetry.count_dropped)
    except OSError as error:
        raise LockshipError(f"{config.input_log.directory}: cannot write the input log: {error.strerror}") from error
    signer = f" by {provenance.key}" if provenance.key else ""
    log.info(
        "model %s (sha256 %s, lock %s): provenance %s%s, smoke prediction passed, %s, loaded in %.2f s",
        model_dir.path,
        package.model_sha256[:12],
        package.lock_hash[:12],
        provenance.status,
        signer,
        predictor.path,
        time.perf_counter() - start,
    )
    return Service(config, model_dir, predictor, Decoder(model_dir), telemetry, input_log, provenance)
