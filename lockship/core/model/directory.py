"""The model directory the serving app reads: model, metadata, schema, reference profile and package facts.

Layout (every name fixed, so an image and a developer's directory look the same):

    model.skops    canonical skops model from the train stage
    metadata.json  train's metadata: target, classes, features with dtypes, the model's sha256
    schema.yaml    the data schema the inputs are validated against
    profile.json   evaluate's reference profile, for drift checks
    package.json   written at packaging: lock hash, params, metrics, the model's sha256 at
                   packaging, an example input row for the smoke prediction and the probabilities
                   the model gave it, linear.json's or trees.json's sha256 if there is one, and the sha256 of every
                   other file (`files`); no git revision, which the lock hash does not determine
    linear.json    only for a model packaging verified a linear fast path for: its parameters
    trees.json     only for a forest or boosting packaging verified a tree fast path for: its trees
    package.json.sig  only when packaging had a signing key: see lockship.core.model.signing
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockship.core.data.schema import Scalar, Schema, load_schema
from lockship.core.errors import LockshipError
from lockship.core.fsio import canonical_json
from lockship.core.jsonfields import open_regular
from lockship.core.model.info import (
    Feature,
    PackageInfo,
    example_problems,
    read_metadata,
    read_package,
    read_profile,
)

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
SCHEMA_FILE = "schema.yaml"
PROFILE_FILE = "profile.json"
PACKAGE_FILE = "package.json"
LINEAR_FILE = "linear.json"
TREES_FILE = "trees.json"
FILES = (MODEL_FILE, METADATA_FILE, SCHEMA_FILE, PROFILE_FILE, PACKAGE_FILE)
# A YAML parse costs about 4 s a MiB: 2 MiB is some 20,000 columns.
MAX_SCHEMA_BYTES = 2 * 2**20
# The files package.json's `files` names by sha256 (model.skops, linear.json and trees.json have keys of their own).
HASHED_FILES = (METADATA_FILE, PROFILE_FILE, SCHEMA_FILE)


@dataclass(frozen=True)
class ModelDir:
    """A read and verified model directory (the model itself is loaded by the caller)."""

    path: Path
    package: PackageInfo
    target: str
    classes: tuple[Scalar, ...]
    features: tuple[Feature, ...]
    schema: Schema
    metadata: Mapping[str, Any]
    profile: Mapping[str, Any]

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def linear_path(self) -> Path | None:
        """linear.json, verified against package.json, when packaging wrote one."""
        return None if self.package.linear_sha256 is None else self.path / LINEAR_FILE

    @property
    def trees_path(self) -> Path | None:
        """trees.json, verified against package.json, when packaging wrote one."""
        return None if self.package.trees_sha256 is None else self.path / TREES_FILE

    @property
    def derived_files(self) -> tuple[str, ...]:
        """The fast-path files package.json names: at most one of linear.json and trees.json."""
        return tuple(name for name, path in ((LINEAR_FILE, self.linear_path), (TREES_FILE, self.trees_path)) if path)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a regular file; a missing, unreadable or special (FIFO, device) file is a LockshipError."""
    name = os.fspath(path)
    try:
        with open_regular(name) as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as error:
        raise LockshipError(f"{name}: cannot read: {error.strerror}") from error


def _file_problem(path: Path, limit: int | None = None) -> str | None:
    """Why `path` cannot be one of a model directory's files (checked before any is opened), or None."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"{path}: missing (a model directory holds {', '.join(FILES)})"
    except OSError as error:
        return f"{path}: cannot read: {error.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return f"{path}: not a regular file (a directory, FIFO, device or socket): refusing to read it"
    if limit is not None and info.st_size > limit:
        return f"{path}: {info.st_size} bytes, more than the {limit} lockship reads"
    return None


def _check_features(label: str, features: tuple[Feature, ...], schema: Schema, schema_label: str) -> None:
    problems = [
        f"{schema_label}: feature '{feature.name}' (from {label}) is not a column of the schema"
        for feature in features
        if schema.column(feature.name) is None
    ]
    if problems:
        raise LockshipError(*problems)


def _check_hashes(root: Path, package: PackageInfo) -> None:
    """metadata.json, profile.json and schema.yaml must be the files package.json names by hash."""
    if sorted(package.files) != sorted(HASHED_FILES):
        raise LockshipError(
            f"{root / PACKAGE_FILE}: files: expected the sha256 of {', '.join(HASHED_FILES)}, "
            f"got {', '.join(sorted(package.files)) or 'none'}"
        )
    for name in HASHED_FILES:
        actual = sha256_of(root / name)
        if actual != package.files[name]:
            raise LockshipError(
                f"{root / name}: sha256 {actual} does not match {package.files[name]} recorded in "
                f"{root / PACKAGE_FILE}: the file was changed after packaging"
            )


def read_model_dir(path: str | os.PathLike[str]) -> ModelDir:
    """Read every file of a model directory and verify every file's sha256 against package.json.

    A tampered or swapped model (or a package.json that does not belong to it) is a LockshipError.
    """
    root = Path(path)
    if not root.is_dir():
        raise LockshipError(f"{root}: {'not a directory' if root.exists() else 'no such model directory'}")
    limits = {SCHEMA_FILE: MAX_SCHEMA_BYTES}
    problems = [_file_problem(root / name, limits.get(name)) for name in FILES]
    if any(problems):
        raise LockshipError(*(line for line in problems if line))
    package = read_package(root / PACKAGE_FILE)
    metadata = read_metadata(root / METADATA_FILE)
    schema = load_schema(root / SCHEMA_FILE)
    profile = read_profile(root / PROFILE_FILE)
    # After parsing, so that a malformed file is reported as such rather than as changed; before the
    # files are checked against each other, so that a changed one is reported as changed.
    _check_hashes(root, package)
    _check_features(str(root / METADATA_FILE), metadata.features, schema, str(root / SCHEMA_FILE))
    actual = sha256_of(root / MODEL_FILE)
    if actual != package.model_sha256:
        raise LockshipError(
            f"{root / MODEL_FILE}: sha256 {actual} does not match {package.model_sha256} recorded in "
            f"{root / PACKAGE_FILE}: the model file was changed or swapped after packaging"
        )
    if package.linear_sha256 is not None:
        actual = sha256_of(root / LINEAR_FILE)
        if actual != package.linear_sha256:
            raise LockshipError(
                f"{root / LINEAR_FILE}: sha256 {actual} does not match {package.linear_sha256} recorded in "
                f"{root / PACKAGE_FILE}: the model's parameters were changed after packaging"
            )
    if package.trees_sha256 is not None:
        if package.linear_sha256 is not None:
            raise LockshipError(
                f"{root / PACKAGE_FILE}: names both linear.json and trees.json; a model has one fast path"
            )
        actual = sha256_of(root / TREES_FILE)
        if actual != package.trees_sha256:
            raise LockshipError(
                f"{root / TREES_FILE}: sha256 {actual} does not match {package.trees_sha256} recorded in "
                f"{root / PACKAGE_FILE}: the model's trees were changed after packaging"
            )
    if len(package.example_probabilities) != len(metadata.classes):
        raise LockshipError(
            f"{root / PACKAGE_FILE}: example_probabilities has {len(package.example_probabilities)} values "
            f"for {len(metadata.classes)} classes"
        )
    if metadata.model_sha256 != package.model_sha256:
        raise LockshipError(
            f"{root / METADATA_FILE}: model.sha256 {metadata.model_sha256} is not the packaged model's "
            f"{package.model_sha256}: metadata and model come from different training runs"
        )
    bad_example = example_problems(package.example, metadata.features, schema)
    if bad_example:
        raise LockshipError(*(f"{root / PACKAGE_FILE}: example: {line}" for line in bad_example))
    return ModelDir(
        path=root,
        package=package,
        target=metadata.target,
        classes=metadata.classes,
        features=metadata.features,
        schema=schema,
        metadata=metadata.data,
        profile=profile,
    )


def write_model_dir(
    target_dir: str | os.PathLike[str],
    *,
    model_path: str | os.PathLike[str],
    metadata_path: str | os.PathLike[str],
    schema_path: str | os.PathLike[str],
    profile_path: str | os.PathLike[str],
    lock_hash: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    example: Mapping[str, Scalar | None],
    example_probabilities: Sequence[float],
    linear: Mapping[str, Any] | None = None,
    trees: str | None = None,
) -> PackageInfo:
    """Assemble a model directory at `target_dir`, replacing any old one all at once.

    `example_probabilities` is what the model predicts for `example`; `linear` is the content of
    linear.json, for a model with a verified linear fast path; `trees` the text of trees.json, for a
    forest or boosting with a verified tree fast path.

    The files are written into a temporary sibling directory, checked by reading it back with
    `read_model_dir`, and only then renamed into place: a failure leaves the old directory (or none).
    """
    target = Path(target_dir)
    model_sha256 = sha256_of(model_path)
    linear_text = None if linear is None else canonical_json(linear)
    package = PackageInfo(
        lock_hash=lock_hash,
        model_sha256=model_sha256,
        params=params,
        metrics=metrics,
        example=example,
        example_probabilities=tuple(example_probabilities),
        linear_sha256=None if linear_text is None else hashlib.sha256(linear_text.encode()).hexdigest(),
        trees_sha256=None if trees is None else hashlib.sha256(trees.encode()).hexdigest(),
    )
    sources = {
        MODEL_FILE: model_path,
        METADATA_FILE: metadata_path,
        SCHEMA_FILE: schema_path,
        PROFILE_FILE: profile_path,
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as error:
        raise LockshipError(f"{target.parent}: cannot create a directory: {error.strerror}") from error
    old = target.parent / f".{target.name}.old"
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        for name, source in sources.items():
            try:
                shutil.copyfile(source, staging / name)
            except FileNotFoundError as error:
                raise LockshipError(f"{os.fspath(source)}: file not found") from error
            except OSError as error:
                raise LockshipError(f"{os.fspath(source)}: cannot copy: {error.strerror}") from error
        package = dataclasses.replace(package, files={name: sha256_of(staging / name) for name in HASHED_FILES})
        (staging / PACKAGE_FILE).write_text(canonical_json(package.to_json()), encoding="utf-8")
        if linear_text is not None:
            (staging / LINEAR_FILE).write_text(linear_text, encoding="utf-8")
        if trees is not None:
            (staging / TREES_FILE).write_text(trees, encoding="utf-8")
        # The copy is what gets hashed: a model that changed while being copied fails here, not at serve time.
        read_model_dir(staging)
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(staging, target)
        except OSError:
            if old.exists():
                os.replace(old, target)
            raise
    except OSError as error:
        raise LockshipError(f"{error.filename or target}: cannot write: {error.strerror}") from error
    except LockshipError as error:
        problems = [line.replace(str(staging), str(target)) for line in error.problems]
        raise LockshipError(*problems, exit_code=error.exit_code) from error
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        with contextlib.suppress(OSError):
            shutil.rmtree(old)
    return package
