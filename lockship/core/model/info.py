"""What a model directory's JSON files say: package.json (packaging), train's metadata.json, evaluate's profile.json.

Each reader reports every problem of its file at once, one `path:line: key: problem` per line.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lockship.core.data.schema import Scalar, Schema
from lockship.core.errors import LockshipError
from lockship.core.jsonfields import Fields, brief, read_json

PACKAGE_FORMAT = 3
PACKAGE_KEYS = frozenset(
    {
        "format",
        "lock_hash",
        "model_sha256",
        "params",
        "metrics",
        "example",
        "example_probabilities",
        "linear_sha256",
        "trees_sha256",
        "files",
    }
)


@dataclass(frozen=True)
class PackageInfo:
    """package.json: what the packaging step recorded about the model it shipped."""

    lock_hash: str
    model_sha256: str
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    example: Mapping[str, Scalar | None]
    # What the pipeline predicted for `example` at packaging: every start must answer the same.
    example_probabilities: tuple[float, ...]
    # The sha256 of linear.json when packaging verified a linear fast path for the model, else None.
    linear_sha256: str | None = None
    # The sha256 of trees.json when packaging verified a tree fast path (forest or boosting), else None.
    trees_sha256: str | None = None
    # The sha256 of every other file of the model directory but package.json itself, by name: with the
    # two above, package.json names the hash of every file, so signing it signs the whole directory.
    files: Mapping[str, str] = field(default_factory=dict)
    format: int = PACKAGE_FORMAT

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "lock_hash": self.lock_hash,
            "model_sha256": self.model_sha256,
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "example": dict(self.example),
            "example_probabilities": list(self.example_probabilities),
            "linear_sha256": self.linear_sha256,
            # Only when there is one: package.json of every other model stays as older lockships wrote and read it.
            **({"trees_sha256": self.trees_sha256} if self.trees_sha256 is not None else {}),
            "files": dict(sorted(self.files.items())),
        }


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str
    # "ignore" when the fitted encoder ignores categories it never saw: such values are served and flagged.
    unknown: str = "reject"


@dataclass(frozen=True)
class Metadata:
    """The parts of train's metadata.json the serving app relies on, and the whole of it for /metadata."""

    target: str
    classes: tuple[Scalar, ...]
    features: tuple[Feature, ...]
    model_sha256: str
    data: dict[str, Any]


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdef" for c in value)


def read_package(path: str | os.PathLike[str]) -> PackageInfo:
    fields = Fields(read_json(path))
    if not isinstance(fields.document.data, Mapping):
        raise LockshipError(f"{fields.document.where(())}: expected a JSON object")
    version = fields.get(("format",), int, "an integer")
    if version is not None and version != PACKAGE_FORMAT:
        fields.problem(("format",), f"unsupported format {brief(version)}, this lockship reads {PACKAGE_FORMAT}")
    lock_hash = fields.get(("lock_hash",), str, "the lock hash (hex)")
    if lock_hash is not None and not (lock_hash and _is_hex(lock_hash)):
        fields.problem(("lock_hash",), f"expected lowercase hex, got {brief(lock_hash)}")
    sha = _sha256(fields, "model_sha256")
    params = fields.get(("params",), dict, "an object")
    metrics = fields.get(("metrics",), dict, "an object")
    for name, value in (metrics or {}).items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            fields.problem(("metrics", name), f"expected a number, got {brief(value)}")
    example = fields.get(("example",), dict, "an object of feature values")
    for name, value in (example or {}).items():
        if value is not None and not isinstance(value, int | float | bool | str):
            fields.problem(("example", name), f"expected a number, boolean, string or null, got {brief(value)}")
    probabilities = fields.get(("example_probabilities",), list, "a list of probabilities")
    for index, value in enumerate(probabilities or []):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            fields.problem(("example_probabilities", index), f"expected a probability, got {brief(value)}")
    linear = _sha256(fields, "linear_sha256") if fields.document.data.get("linear_sha256") is not None else None
    trees = _sha256(fields, "trees_sha256") if fields.document.data.get("trees_sha256") is not None else None
    files = fields.get(("files",), dict, "an object of file names and their sha256")
    for name in files or {}:
        _sha256(fields, ("files", name))
    for key in sorted(set(fields.document.data) - PACKAGE_KEYS):
        fields.problem((key,), "unknown key")
    fields.check()
    return PackageInfo(
        lock_hash=lock_hash,
        model_sha256=sha,
        params=params,
        metrics=metrics,
        example=example,
        example_probabilities=tuple(probabilities),
        linear_sha256=linear,
        trees_sha256=trees,
        files=files,
        format=version,
    )


def _sha256(fields: Fields, key: str | tuple[str, str]) -> Any:
    path = (key,) if isinstance(key, str) else key
    sha = fields.get(path, str, "a sha256 (64 hex)")
    if sha is not None and not (len(sha) == 64 and _is_hex(sha)):
        fields.problem(path, f"expected 64 lowercase hex digits, got {brief(sha)}")
    return sha


def read_metadata(path: str | os.PathLike[str]) -> Metadata:
    fields = Fields(read_json(path))
    if not isinstance(fields.document.data, Mapping):
        raise LockshipError(f"{fields.document.where(())}: expected a JSON object (train's model metadata)")
    target = fields.get(("target",), str, "the target column name")
    classes = fields.get(("classes",), list, "a list of classes")
    for index, value in enumerate(classes or []):
        if not isinstance(value, int | float | bool | str):
            fields.problem(("classes", index), f"expected a number, boolean or string, got {brief(value)}")
    if classes is not None and len(classes) < 2:
        fields.problem(("classes",), f"a classifier needs two or more classes, got {brief(classes)}")
    listed = fields.get(("features",), list, "a list of {name, dtype}")
    features = []
    for index in range(len(listed or [])):
        if fields.get(("features", index), dict, "an object {name, dtype}") is None:
            continue
        name = fields.get(("features", index, "name"), str, "a feature name")
        dtype = fields.get(("features", index, "dtype"), str, "a dtype name")
        unknown = "reject"
        if "unknown" in listed[index]:
            unknown = fields.get(("features", index, "unknown"), str, '"ignore" or "reject"')
            if unknown not in ("ignore", "reject"):
                fields.problem(("features", index, "unknown"), f'expected "ignore" or "reject", got {brief(unknown)}')
        if name is not None and dtype is not None:
            features.append(Feature(name, dtype, unknown or "reject"))
    if listed is not None and not listed:
        fields.problem(("features",), "no features")
    names = [feature.name for feature in features]
    for name in sorted({name for name in names if names.count(name) > 1}):
        fields.problem(("features",), f"feature '{name}' listed twice")
    sha = fields.get(("model", "sha256"), str, "a sha256 (64 hex)")
    fields.check()
    return Metadata(target, tuple(classes), tuple(features), sha, dict(fields.document.data))


def read_profile(path: str | os.PathLike[str]) -> dict[str, Any]:
    """evaluate's reference profile: an object whose `features` (if any) map names to objects with numeric bounds."""
    fields = Fields(read_json(path))
    if not isinstance(fields.document.data, Mapping):
        raise LockshipError(f"{fields.document.where(())}: expected a JSON object (evaluate's reference profile)")
    if "features" in fields.document.data:
        for name in fields.get(("features",), dict, "an object of feature profiles") or {}:
            profile = fields.get(("features", name), dict, "an object (the feature's profile)") or {}
            for bound in ("min", "max"):
                value = profile.get(bound)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    fields.problem(("features", name, bound), f"expected a number, got {brief(value)}")
    fields.check()
    return dict(fields.document.data)


def example_problems(example: Mapping[str, Any], features: tuple[Feature, ...], schema: Schema) -> list[str]:
    """Why `example` is not a valid input row (names, types, finiteness, ranges); empty when it is."""
    problems = []
    names = [feature.name for feature in features]
    problems += [f"'{name}': missing" for name in names if name not in example]
    problems += [f"'{name}': not a feature of the model" for name in sorted(set(example) - set(names))]
    for name in names:
        rule = schema.column(name)
        if name not in example or rule is None:
            continue
        value = example[name]
        if value is None:
            # Sparse data may have no complete row: a missing value is fine where the schema allows one.
            if not rule.nullable:
                problems.append(f"'{name}': null where the schema does not allow a missing value")
            continue
        if rule.dtype in ("int64", "float64"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"'{name}': expected a number, got {brief(value)}")
            elif not math.isfinite(value):
                problems.append(f"'{name}': {value!r} is not a finite number")
            elif rule.minimum is not None and value < rule.minimum:
                problems.append(f"'{name}': {value!r} is below the minimum {rule.minimum}")
            elif rule.maximum is not None and value > rule.maximum:
                problems.append(f"'{name}': {value!r} is above the maximum {rule.maximum}")
        elif rule.dtype == "bool" and not isinstance(value, bool):
            problems.append(f"'{name}': expected true or false, got {brief(value)}")
        elif rule.dtype == "str" and not isinstance(value, str):
            problems.append(f"'{name}': expected a string, got {brief(value)}")
        if rule.allowed is not None and value not in rule.allowed:
            problems.append(f"'{name}': {brief(value)} is not one of the allowed values")
    return problems
