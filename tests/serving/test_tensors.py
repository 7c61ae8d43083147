"""v2 request bodies to model inputs, on plain bytes: the typed path, and problems named as /predict names them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lockship.core.model.directory import read_model_dir
from lockship.serving.inputs import Decoder
from lockship.serving.problems import RequestError
from lockship.serving.tensors import _checked_request, _typed_inputs, _typed_request, decode_infer
from tests.serving.conftest import Trained
from tests.serving.mixed_data import FEATURES, mixed_features

KSERVE_TYPES = {"floor area": "FP64", "rooms": "INT64", "district": "BYTES", "has garden": "BOOL", "heating": "BYTES"}


@pytest.fixture(scope="module")
def decoder(trained: Trained) -> Decoder:
    return Decoder(read_model_dir(trained.model_dir))


@pytest.fixture(scope="module")
def batch(trained: Trained) -> pd.DataFrame:
    """1,000 rows of the test split's features."""
    return pd.concat([trained.features] * (1000 // len(trained.features) + 1), ignore_index=True).iloc[:1000]


def matrix_tensor(frame: pd.DataFrame, *, nested: bool = False, **fields: Any) -> dict[str, Any]:
    data = frame.to_numpy().tolist() if nested else frame.to_numpy().ravel().tolist()
    return {"name": "input-0", "shape": list(frame.shape), "datatype": "FP64", "data": data, **fields}


def feature_tensors(frame: pd.DataFrame, types: dict[str, str] | None = None, *, rows: bool = False) -> list[Any]:
    """One tensor per column, as KServe's and MLServer's clients send a DataFrame ([N], or [N, 1] nested by row)."""
    return [
        {
            "name": name,
            "shape": [len(frame), 1] if rows else [len(frame)],
            "datatype": (types or {}).get(name, "FP64"),
            "data": [[value] for value in frame[name].tolist()] if rows else frame[name].tolist(),
        }
        for name in frame.columns
    ]


def body(inputs: list[Any], **fields: Any) -> bytes:
    return json.dumps({"inputs": inputs, **fields}).encode()


def problems(decoder: Decoder, data: bytes) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(RequestError) as error:
        decode_infer(decoder, data)
    assert error.value.status == 422, error.value
    return [(p.record, p.field, p.message) for p in error.value.problems]


@pytest.mark.parametrize(
    "inputs",
    [
        lambda frame: [matrix_tensor(frame)],
        lambda frame: [matrix_tensor(frame, nested=True, datatype="FP32", parameters={"content_type": "np"})],
        lambda frame: feature_tensors(frame),
        lambda frame: feature_tensors(frame, rows=True),
        lambda frame: list(reversed(feature_tensors(frame))),
    ],
    ids=["flat", "nested-by-row", "per-feature", "per-feature-n-by-1", "per-feature-any-order"],
)
def test_every_well_formed_numeric_body_takes_the_typed_path(
    decoder: Decoder, batch: pd.DataFrame, inputs: Any
) -> None:
    data = body(inputs(batch), id="42", model_name="model", parameters={"a": 1}, outputs=[{"name": "predict"}])
    request = _typed_request(data)
    assert request is not None
    typed = _typed_inputs(decoder, request.inputs)
    assert typed is not None and typed.matrix is not None
    checked = _checked_request(decoder, data).inputs
    records = decoder.records(json.dumps({"records": batch.to_dict("records")}).encode())
    np.testing.assert_array_equal(typed.matrix, batch.to_numpy())
    np.testing.assert_array_equal(typed.matrix, checked.matrix)  # type: ignore[arg-type]
    np.testing.assert_array_equal(typed.matrix, records.matrix)  # type: ignore[arg-type]
    decoded = decode_infer(decoder, data)
    assert (decoded.id, decoded.outputs, decoded.inputs.rows) == ("42", ["predict"], 1000)


def test_integers_convert_like_python(decoder: Decoder, batch: pd.DataFrame) -> None:
    tensor = matrix_tensor(batch.iloc[:1], datatype="INT64")
    tensor["data"][batch.columns.get_loc("mean area")] = 900
    matrix = decode_infer(decoder, body([tensor])).inputs.matrix
    assert matrix is not None and matrix[0, decoder.names.index("mean area")] == 900.0


@pytest.mark.parametrize(
    ("value", "message"),
    [("1.5", 'expected a number, got "1.5"'), (True, "expected a number, got true"),
     (None, "null where the schema does not allow a missing value"), ({"v": 1}, "expected a number, got dict")],
)  # fmt: skip
@pytest.mark.parametrize("form", ["flat", "nested", "per-feature"])
def test_a_bad_value_in_a_big_batch_is_named_by_record_and_field(
    decoder: Decoder, batch: pd.DataFrame, form: str, value: object, message: str
) -> None:
    if form == "per-feature":
        inputs = feature_tensors(batch)
        inputs[batch.columns.get_loc("mean area")]["data"][700] = value
    else:
        inputs = [matrix_tensor(batch, nested=form == "nested")]
        column = batch.columns.get_loc("mean area")
        if form == "nested":
            inputs[0]["data"][700][column] = value
        else:
            inputs[0]["data"][700 * batch.shape[1] + column] = value
    assert problems(decoder, body(inputs)) == [(700, "mean area", message)]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-1e999", b"1" + b"0" * 400])
def test_a_non_finite_number_is_a_problem_not_a_crash(decoder: Decoder, batch: pd.DataFrame, literal: bytes) -> None:
    tensor = matrix_tensor(batch.iloc[:3])
    tensor["data"][31] = 12345.5
    found = problems(decoder, body([tensor]).replace(b"12345.5", literal))
    assert [(record, field) for record, field, _ in found] == [(1, batch.columns[1])]
    assert "is not a finite number" in found[0][2]


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"datatype": "BYTES"}, 'datatype "BYTES" is not numeric (use FP64)'),
        ({"shape": [0, 30], "data": []}, "shape [0, 30] is not [N, 30] or [N]"),
        ({"shape": [2, 30]}, "30 values do not fill shape [2, 30]"),
        ({"shape": [2, 30], "data": [[1.0] * 31, [1.0] * 29]}, "'data' must be a flat list or lists nested as [2, 30]"),
        ({"shape": [1, 30], "data": [[[1.0] * 30]]}, "'data' must be a flat list or lists nested as [1, 30]"),
        ({"parameters": [None, None]}, "'parameters' must be an object"),
    ],
)
def test_a_malformed_tensor_is_named(
    decoder: Decoder, batch: pd.DataFrame, tensor: dict[str, Any], message: str
) -> None:
    assert problems(decoder, body([matrix_tensor(batch.iloc[:1]) | tensor])) == [
        (None, None, f"tensor 'input-0': {message}")
    ]


def test_per_feature_tensors_must_name_every_feature_once(decoder: Decoder, batch: pd.DataFrame) -> None:
    inputs = feature_tensors(batch.iloc[:4])
    found = problems(decoder, body([*inputs[1:], {**inputs[0], "name": "radius"}]))
    assert found[:2] == [(None, "mean radius", "missing input tensor"), (None, "radius", "not a feature of the model")]
    assert problems(decoder, body([*inputs, inputs[3]])) == [(None, None, "tensor 'mean area' is sent twice")]
    inputs[5] = {**inputs[5], "shape": [3], "data": inputs[5]["data"][:3]}
    assert problems(decoder, body(inputs)) == [(None, None, "per-feature tensors have different lengths")]


def test_request_level_fields(decoder: Decoder, batch: pd.DataFrame) -> None:
    inputs = [matrix_tensor(batch.iloc[:1])]
    assert decode_infer(decoder, body(inputs)).outputs == ["predict", "predict_proba"]
    assert decode_infer(decoder, body(inputs, outputs=[])).outputs == ["predict", "predict_proba"]
    assert decode_infer(decoder, body(inputs, outputs=[{"name": "predict_proba"}])).outputs == ["predict_proba"]
    asked = [{"name": "predict_proba"}, {"name": "predict"}] * 1000  # each answered once, in the order first asked
    assert decode_infer(decoder, body(inputs, outputs=asked)).outputs == ["predict_proba", "predict"]
    assert problems(decoder, body(inputs, outputs=[{"name": "proba"}])) == [
        (None, None, "no output named \"proba\"; this model gives 'predict' and 'predict_proba'")
    ]
    assert problems(decoder, body(inputs, outputs=["predict"])) == [
        (None, None, "'outputs' must be a list of objects, each with a 'name'")
    ]
    assert problems(decoder, body(inputs, id=None)) == [(None, None, "'id' must be a string")]
    assert problems(decoder, b'{"outputs": []}')[0][2] == "expected a JSON object with 'inputs', a list of tensors"
    with pytest.raises(RequestError) as error:
        decode_infer(decoder, body(inputs, id="\ud800"))
    assert error.value.status == 400  # read to look for problems, but no JSON answer can echo that id


@pytest.fixture(scope="module")
def mixed(mixed_work: Path) -> tuple[Decoder, pd.DataFrame]:
    return Decoder(read_model_dir(mixed_work / "model-dir")), mixed_features(mixed_work)


def test_a_kserve_body_for_mixed_data_gives_the_records_frame(mixed: tuple[Decoder, pd.DataFrame]) -> None:
    decoder, features = mixed
    assert features["heating"].isna().any()  # a missing string goes as null in its BYTES tensor
    inputs = decode_infer(decoder, body(feature_tensors(features, KSERVE_TYPES), model_name="model")).inputs
    expected = decoder._slow(features.to_dict("records"))
    pd.testing.assert_frame_equal(inputs.frame, expected.frame)
    assert inputs.values == expected.values == features[FEATURES].values.tolist()
    by_row = decode_infer(decoder, body(feature_tensors(features, KSERVE_TYPES, rows=True))).inputs
    pd.testing.assert_frame_equal(by_row.frame, expected.frame)


@pytest.mark.parametrize(
    ("feature", "change", "problem"),
    [
        ("district", {"datatype": "FP64"}, (None, None, 'datatype "FP64" does not fit the feature (use BYTES)')),
        ("floor area", {"datatype": "BYTES"}, (None, None, 'datatype "BYTES" is not numeric (use FP64)')),
        ("has garden", {"datatype": "INT8"}, (None, None, 'datatype "INT8" does not fit the feature (use BOOL)')),
        ("district", {3: 7}, (3, "district", "expected a string, got 7")),
        ("district", {3: None}, (3, "district", "null where the schema does not allow a missing value")),
        ("has garden", {3: 1}, (3, "has garden", "expected true or false, got 1")),
        ("floor area", {3: "200"}, (3, "floor area", 'expected a number, got "200"')),
        ("rooms", {3: 2.5}, (3, "rooms", "2.5 is not an integer")),
    ],
)
def test_a_mixed_body_problem_is_named(
    mixed: tuple[Decoder, pd.DataFrame], feature: str, change: dict[Any, Any], problem: tuple[Any, ...]
) -> None:
    decoder, features = mixed
    inputs = feature_tensors(features, KSERVE_TYPES)
    tensor = inputs[FEATURES.index(feature)]
    for key, value in change.items():
        if isinstance(key, int):
            tensor["data"][key] = value
        else:
            tensor[key] = value
            problem = (None, None, f"tensor '{feature}': {problem[2]}")
    assert problems(decoder, body(inputs)) == [problem]


def test_a_lone_surrogate_in_a_string_value_is_400_not_a_crash(mixed: tuple[Decoder, pd.DataFrame]) -> None:
    decoder, features = mixed
    inputs = feature_tensors(features, KSERVE_TYPES)
    inputs[FEATURES.index("heating")]["data"][0] = "\ud800"  # valid for the schema; only Python's parser reads it
    with pytest.raises(RequestError) as error:
        decode_infer(decoder, body(inputs))
    assert error.value.status == 400 and "malformed JSON" in str(error.value)


def test_one_numeric_tensor_cannot_carry_mixed_data(mixed: tuple[Decoder, pd.DataFrame]) -> None:
    decoder = mixed[0]
    tensor = {"name": "x", "shape": [1, 5], "datatype": "FP64", "data": [100.0, 3, 1, 0, 1]}
    assert problems(decoder, body([tensor])) == [
        (None, None, "tensor 'x': this model has bool and str features, which one numeric tensor cannot hold; "
                     "send one [N] tensor per feature (BYTES for strings, BOOL for booleans)")
    ]  # fmt: skip
