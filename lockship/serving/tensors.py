"""Open Inference Protocol v2 tensors: their shapes and data checked, then turned into float matrices."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from lockship.serving.linear import Matrix
from lockship.serving.problems import Problem, RequestError, show

NUMERIC_TYPES = {"FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"}


def tensor_shape(tensor: dict[str, Any]) -> list[int]:
    """A tensor's declared shape, or [] when it is not a list of non-negative integers."""
    shape = tensor.get("shape")
    ok = isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    return list(shape) if ok and isinstance(shape, list) else []


def tensor_name(tensor: dict[str, Any]) -> str:
    """A tensor's name, or RequestError (422) when it is not a string."""
    name = tensor.get("name")
    if not isinstance(name, str):
        raise RequestError(422, Problem(f"a tensor's 'name' must be a string, got {show(name)}"))
    return name


def tensor_matrix(tensor: dict[str, Any], columns: int) -> Matrix:
    """A numeric [N, columns] or [N] tensor as an N x columns float matrix, or RequestError (422)."""
    name = tensor_name(tensor)
    shape = tensor_shape(tensor)
    datatype = tensor.get("datatype")
    if not isinstance(datatype, str) or datatype not in NUMERIC_TYPES:
        raise RequestError(422, Problem(f"tensor '{name}': datatype {show(datatype)} is not numeric (use FP64)"))
    if not shape or shape[0] == 0 or math.prod(shape) != shape[0] * columns:
        shown = shape if 0 < len(shape) <= 8 else show(tensor.get("shape"))  # bounded, whatever was sent
        raise RequestError(422, Problem(f"tensor '{name}': shape {shown} is not [N, {columns}] or [N]"))
    if "parameters" in tensor and not isinstance(tensor["parameters"], dict):
        raise RequestError(422, Problem(f"tensor '{name}': 'parameters' must be an object"))
    flat = _flatten(tensor.get("data"), len(shape))
    if flat is None or any(type(value) not in (int, float) for value in flat):
        raise RequestError(422, Problem(f"tensor '{name}': 'data' must be a (nested) list of numbers"))
    if len(flat) != math.prod(shape):
        raise RequestError(422, Problem(f"tensor '{name}': {len(flat)} values do not fill shape {shape}"))
    try:
        return np.array(flat, dtype=np.float64).reshape(shape[0], columns)
    except OverflowError as error:
        raise RequestError(422, Problem(f"tensor '{name}': a value is out of range")) from error


def _flatten(data: Any, rank: int) -> list[Any] | None:
    """The values of a list nested evenly (each level all lists or all values) at most `rank` deep, or None.

    One level at a time, not by recursion: a body may nest a thousand levels deep, and each
    node is visited once however deep it lies.
    """
    if not isinstance(data, list):
        return None
    level = data
    for _ in range(rank):
        if not any(isinstance(item, list) for item in level):
            return level
        if not all(isinstance(item, list) for item in level):
            return None
        level = list(itertools.chain.from_iterable(level))
    return None
