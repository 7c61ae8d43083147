"""v2 tensors: declared shapes and datatypes checked before any value is read."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lockship.serving.problems import RequestError
from lockship.serving.tensors import tensor_matrix, tensor_shape


def tensor(**fields: Any) -> dict[str, Any]:
    return {"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], [4, 5.5, 6]]} | fields


def test_nested_and_flat_data_give_the_same_matrix() -> None:
    nested = tensor_matrix(tensor(), 3)
    flat = tensor_matrix(tensor(data=[1, 2, 3, 4, 5.5, 6], datatype="INT64"), 3)
    np.testing.assert_array_equal(nested, flat)
    assert nested.shape == (2, 3) and nested.dtype == np.float64
    assert tensor_matrix(tensor(shape=[3], data=[1, 2, 3]), 1).shape == (3, 1)


@pytest.mark.parametrize("shape", [[2, True], [-1, 3], "2x3", None, [2.0, 3]])
def test_a_malformed_shape_is_no_shape(shape: Any) -> None:
    assert tensor_shape(tensor(shape=shape)) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"datatype": "BYTES"}, 'datatype "BYTES" is not numeric'),
        ({"shape": [2, 4]}, r"shape \[2, 4\] is not \[N, 3\] or \[N\]"),
        ({"shape": [0, 3], "data": []}, r"shape \[0, 3\]"),
        ({"data": [[1, 2, 3], [4, "5", 6]]}, "'data' must be a \\(nested\\) list of numbers"),
        ({"data": [[1, 2, 3], [4, 5]]}, r"5 values do not fill shape \[2, 3\]"),
        ({"data": [[1, 2, 3], [4, 5, 10**400]]}, "a value is out of range"),
    ],
)
def test_bad_tensors_are_422_naming_the_tensor(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=f"tensor 'x': {message}") as error:
        tensor_matrix(tensor(**fields), 3)
    assert error.value.status == 422
