"""Open Inference Protocol v2 tensors: their shapes and data checked, then turned into float matrices."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lockship.serving.linear import Matrix
from lockship.serving.problems import Problem, RequestError, show

_NUMERIC_TYPES = {"FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"}


def tensor_shape(tensor: dict[str, Any]) -> list[int]:
    """A tensor's declared shape, or [] when it is not a list of non-negative integers."""
    shape = tensor.get("shape")
    ok = isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    return list(shape) if ok and isinstance(shape, list) else []


def tensor_matrix(tensor: dict[str, Any], columns: int) -> Matrix:
    """A numeric [N, columns] or [N] tensor as an N x columns float matrix, or RequestError (422)."""
    name = str(tensor.get("name"))
    shape = tensor_shape(tensor)
    datatype = tensor.get("datatype")
    if datatype not in _NUMERIC_TYPES:
        raise RequestError(422, Problem(f"tensor '{name}': datatype {show(datatype)} is not numeric (use FP64)"))
    if not shape or shape[0] == 0 or math.prod(shape) != shape[0] * columns:
        raise RequestError(422, Problem(f"tensor '{name}': shape {tensor.get('shape')!r} is not [N, {columns}] or [N]"))
    data = tensor.get("data")
    flat = _flatten(data)
    if flat is None or any(type(value) not in (int, float) for value in flat):
        raise RequestError(422, Problem(f"tensor '{name}': 'data' must be a (nested) list of numbers"))
    if len(flat) != math.prod(shape):
        raise RequestError(422, Problem(f"tensor '{name}': {len(flat)} values do not fill shape {shape}"))
    try:
        return np.array(flat, dtype=np.float64).reshape(shape[0], columns)
    except OverflowError as error:
        raise RequestError(422, Problem(f"tensor '{name}': a value is out of range")) from error


def _flatten(data: Any) -> list[Any] | None:
    if not isinstance(data, list):
        return None
    if all(not isinstance(item, list) for item in data):
        return data
    flat: list[Any] = []
    for item in data:
        inner = _flatten(item) if isinstance(item, list) else None
        if inner is None:
            return None
        flat += inner
    return flat
