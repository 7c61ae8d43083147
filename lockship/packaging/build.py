"""Build (or find) the serving image of a DVC project, tagged `<name>:<first 12 hex of the lock hash>`.

`image.json` holds only what the lock determines (the reference and the full lock hash), so it can be
committed and a fresh clone reproduces dvc.lock byte for byte. The image itself holds only what the lock
determines too (a fixed time, no git revision), so one tag names one image ID on any machine, at any commit
that leaves the lock unchanged. The facts that depend on the machine or the day (image ID, manifest digest,
size, builder, base digest, the revision it was built at) go to `build.json`, which git ignores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockship.core.dvc.lock import load_lock
from lockship.core.dvc.lockhash import LockHash, lock_hash
from lockship.core.errors import LockshipError
from lockship.core.model.signing import fingerprint
from lockship.core.yamlio import read_text
from lockship.packaging import baselock
from lockship.packaging.base import cache_dir, resolve_base
from lockship.packaging.builders import Builder, ImageFacts
from lockship.packaging.containerfile import ImageSpec, containerfile, labels
from lockship.packaging.example import example_row
from lockship.packaging.layers import app_layer, bytecode_layer, prune_cache, site_layer
from lockship.packaging.requirements import runtime_lock
from lockship.packaging.tarball import MTIME

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from lockship.core.model.info import PackageInfo

LOCK_HASH_LABEL = "dev.lockship.lock-hash"
# The fingerprint of the key that signed the model directory inside: the lock hash does not cover the key,
# so an image is reused only when it was signed by the same key (or, unsigned, by none).
SIGNED_BY_LABEL = "dev.lockship.model-signed-by"


@dataclass(frozen=True)
class Settings:
    """The `package` section of params.yaml."""

    name: str
    base: str
    runtime: tuple[str, ...]  # what every server imports
    pipeline_runtime: tuple[str, ...] = ()  # added for a model served through its scikit-learn pipeline
    port: int = 8000
    image_format: str = "oci"  # or "docker": keeps the HEALTHCHECK, but buildah's IDs then differ per store


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    metadata: Path
    schema: Path
    profile: Path
    metrics: Path
    example: Path  # a data file holding the smoke-test input row (see `example_row`)
    model_dir: Path  # where the model directory is written: the workspace copy the image holds too
    example_row: int | None = None  # the example's data row (from 1), else chosen by `example_row`


@dataclass(frozen=True)
class Result:
    image: str  # name:tag, what `podman run` takes
    lock: LockHash
    facts: ImageFacts | None  # None when no image was built (no builder)
    builder: str  # "none" when no image was built
    built: bool  # False when an image with this tag and lock hash was already there, or none was built
    base_digest: str | None
    seconds: float
    revision: str | None = None  # HEAD when the image was built; None when it was found

    def image_json(self) -> dict[str, str]:
        return {"image": self.image, "lock_hash": self.lock.digest}

    def build_json(self) -> dict[str, Any]:
        if self.facts is None:
            return {"image": None, "builder": "none", "built": False, "revision": self.revision}
        return {
            "image": self.image,
            "image_id": f"sha256:{self.facts.id}",
            "manifest_digest": self.facts.digest,
            "size": self.facts.size,
            "builder": self.builder,
            "built": self.built,
            "base_digest": self.base_digest,
            "revision": self.revision,
            "seconds": round(self.seconds, 3),
        }


def local_ref(builder: Builder, image: str) -> str:
    """buildah and podman keep unqualified local images under `localhost/`."""
    return image if builder.name == "docker" else f"localhost/{image}"


def _git(root: Path, *args: str) -> str | None:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """What a model directory and the image carry: the top-level figures. Per-class ones (a mapping) and
    labels (text) stay in metrics.json."""
    return {
        str(key): float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except ValueError as error:
        raise LockshipError(f"{path}: invalid JSON: {error}") from error


def locked_params(root: Path, lock: LockHash) -> dict[str, Any]:
    """The params of the upstream stages as dvc.lock records them (other files' keys prefixed `file:`)."""
    entries = load_lock(str(root), "dvc.lock")
    merged: dict[str, Any] = {}
    for name in lock.upstream:
        for file, values in sorted(entries[name].params.items()):
            for key, value in sorted(values.items()):
                merged[key if file == "params.yaml" else f"{file}:{key}"] = value
    return merged


def package(
    root: Path,
    settings: Settings,
    files: ModelFiles,
    *,
    builder: Builder | None,
    timestamp: int | None = None,
    base_lock: Path,
    force: bool = False,
    cache: Path | None = None,
    signing_key: Ed25519PrivateKey | None = None,
) -> Result:
    """Write the model directory, then build the image from it unless one with this tag and lock hash exists.

    With `builder` None only the model directory is written (`lockship serve` serves it as it is); with
    `signing_key`, the model directory is signed (package.json.sig).
    """
    started = time.monotonic()
    signer = None if signing_key is None else fingerprint(signing_key.public_key())
    cache = cache or cache_dir()
    # Before the lock hash, which would only say the file is missing, not how to make it.
    locked_base = None if builder is None else baselock.load(base_lock)
    lock = lock_hash(root, stage="package")
    image = f"{settings.name}:{lock.tag}"
    revision = _git(root, "rev-parse", "HEAD")  # for build.json only
    packaged = _model_dir(root, files, lock, signing_key)
    if builder is None or locked_base is None:
        return Result(image, lock, None, "none", False, None, time.monotonic() - started, revision)
    ref = local_ref(builder, image)
    existing = None if force else builder.inspect(ref)
    if (
        existing is not None
        and existing.labels.get(LOCK_HASH_LABEL) == lock.digest
        and existing.labels.get(SIGNED_BY_LABEL) == signer
    ):
        return Result(image, lock, existing, builder.name, False, None, time.monotonic() - started)

    # Not HEAD's commit time: a commit that leaves the lock unchanged keeps the tag, so it must keep the image.
    stamp = MTIME if timestamp is None else timestamp
    base = resolve_base(settings.base, locked_base, where=str(base_lock), cache=cache)
    metrics = _metrics(files.metrics)
    with tempfile.TemporaryDirectory(prefix="lockship-package-") as scratch:
        context = Path(scratch)
        # A model with a verified fast path (linear or trees) is served without scikit-learn: leave it out of the image.
        fast = packaged.linear_sha256 or packaged.trees_sha256
        runtime = settings.runtime + (() if fast else settings.pipeline_runtime)
        requirements, _ = runtime_lock(root / "requirements.lock", runtime)
        site, site_tar = site_layer(requirements, cache=cache)
        bytecode = bytecode_layer(site, root, files.model_dir, cache=cache)
        app_layer(context / "app.tar", root=root, model_dir=files.model_dir)
        _link(site_tar, context / "site.tar")
        _link(bytecode, context / "bytecode.tar")
        if base.rootfs is not None:
            _link(base.rootfs, context / "base.tar")
        spec = ImageSpec(base_image=base.image, add_rootfs=base.rootfs is not None, port=settings.port)
        (context / "Containerfile").write_text(containerfile(spec), encoding="utf-8")
        created = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        image_labels = labels(
            lock_hash=lock.digest,
            created=created,
            title=settings.name,
            metrics=metrics,
        ) | ({} if signer is None else {SIGNED_BY_LABEL: signer})
        builder.build(context, ref=ref, timestamp=stamp, labels=image_labels, image_format=settings.image_format)
    facts = builder.inspect(ref)
    if facts is None:
        raise LockshipError(f"{builder.name}: built {ref} but cannot find it in the store")
    prune_cache(cache)
    return Result(image, lock, facts, builder.name, True, base.digest, time.monotonic() - started, revision)


def _metrics(path: Path) -> dict[str, float]:
    data = _read_json(path)
    if not isinstance(data, Mapping):
        raise LockshipError(f"{path}: expected a JSON object of metrics")
    return headline_metrics(data)


def _model_dir(root: Path, files: ModelFiles, lock: LockHash, signing_key: Ed25519PrivateKey | None) -> PackageInfo:
    """The model directory at `files.model_dir`: the stages' outputs plus what the server checks itself against."""
    from lockship.packaging.assemble import assemble_model_dir

    return assemble_model_dir(
        files.model_dir,
        model_path=files.model,
        metadata_path=files.metadata,
        schema_path=files.schema,
        profile_path=files.profile,
        lock_hash=lock.digest,
        params=locked_params(root, lock),
        metrics=_metrics(files.metrics),
        example=example_row(files.example, files.metadata, row=files.example_row),
        signing_key=signing_key,
    )


def _link(source: Path, target: Path) -> None:
    """Hard-link a cached tar into the build context (copy across filesystems)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
