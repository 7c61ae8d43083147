"""The reference profile `evaluate` writes (`reports/profile.json`), read as hostile input into plain data."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lockship.core.errors import LockshipError

REGENERATE = "regenerate it with `dvc repro evaluate`"
PROFILE_LIMIT = 256 * 1024 * 1024
MODEL_DIR_PROFILE = "profile.json"  # the copy a packaged model directory holds


@dataclass(frozen=True)
class NumericReference:
    """Training values on quantile bins: bin i holds edges[i-1] <= v < edges[i]; the outer bins are open."""

    name: str
    edges: NDArray[np.float64]
    counts: NDArray[np.float64]
    missing: int
    low: float | None  # the training range; None when the column held no values
    high: float | None
    mean: float | None
    std: float | None


@dataclass(frozen=True)
class CategoricalReference:
    name: str
    counts: dict[str, int]
    missing: int


FeatureReference = NumericReference | CategoricalReference


@dataclass(frozen=True)
class Profile:
    path: str
    rows: int
    bins: int  # quantile bins per numeric feature asked of evaluate (fewer where values repeat)
    features: dict[str, FeatureReference]  # in the profile's (training) order

    @property
    def names(self) -> list[str]:
        return list(self.features)


def read_profile(path: str | os.PathLike[str]) -> Profile:
    """The profile at `path` (or in the model directory `path`); anything unusable is one line saying what to do."""
    name = os.fspath(path)
    if os.path.isdir(name) and os.path.isfile(os.path.join(name, MODEL_DIR_PROFILE)):
        name = os.path.join(name, MODEL_DIR_PROFILE)
    try:
        if os.path.getsize(name) > PROFILE_LIMIT:
            raise LockshipError(f"{name}: larger than {PROFILE_LIMIT >> 20} MiB; not a profile evaluate writes")
        with open(name, "rb") as handle:
            data = json.loads(handle.read())
    except FileNotFoundError as error:
        raise LockshipError(f"{name}: file not found; {REGENERATE}") from error
    except IsADirectoryError as error:
        raise LockshipError(
            f"{name}: is a directory without {MODEL_DIR_PROFILE}, expected the profile JSON file"
        ) from error
    except (ValueError, RecursionError) as error:
        raise LockshipError(f"{name}: not JSON ({error}); {REGENERATE}") from error
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, dict) or not features:
        raise LockshipError(f"{name}: not a lockship reference profile (no 'features'); {REGENERATE}")
    parsed: dict[str, FeatureReference] = {}
    for feature, entry in features.items():
        try:
            parsed[feature] = _feature(feature, entry)
        except (KeyError, TypeError, ValueError) as error:
            raise LockshipError(
                f"{name}: feature '{feature}': {error}; the profile is from an older or other lockship, {REGENERATE}"
            ) from error
    rows, bins = data.get("rows"), data.get("bins")
    return Profile(name, rows if type(rows) is int else 0, bins if type(bins) is int else 0, parsed)


def _feature(name: str, entry: Any) -> FeatureReference:
    if not isinstance(entry, dict):
        raise TypeError("expected an object")
    kind = entry.get("kind")
    missing = _count(entry.get("missing", 0), "missing")
    if kind == "categorical":
        counts = entry["counts"]
        if not isinstance(counts, dict):
            raise TypeError("'counts' must map categories to counts")
        return CategoricalReference(name, {str(k): _count(v, "counts") for k, v in counts.items()}, missing)
    if kind != "numeric":
        raise ValueError(f"unknown kind {kind!r}")
    edges = np.array([_number(edge, "edges") for edge in entry["edges"]], dtype=np.float64)
    counts = np.array([_count(count, "counts") for count in entry["counts"]], dtype=np.float64)
    if len(counts) != len(edges) + 1:
        raise ValueError(f"{len(edges)} edges need {len(edges) + 1} counts, found {len(counts)}")
    if np.any(np.diff(edges) <= 0):
        raise ValueError("the bin edges are not increasing")
    low, high = (_optional_number(entry.get(key), key) for key in ("min", "max"))
    mean, std = (_optional_number(entry.get(key), key) for key in ("mean", "std"))
    if counts.sum() and (low is None or high is None):
        raise KeyError("'min' and 'max' (the training range)")
    return NumericReference(name, edges, counts, missing, low, high, mean, std)


def _count(value: Any, key: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"'{key}' must hold counts, found {value!r}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"'{key}' must hold finite numbers, found {value!r}")
    return float(value)


def _optional_number(value: Any, key: str) -> float | None:
    return None if value is None else _number(value, key)
