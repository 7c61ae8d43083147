"""The Open Inference Protocol v2 endpoints against the real server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from lockship.modelfile import load_model
from tests.serving.conftest import Server, Trained
from tests.serving.mixed_data import FEATURES, mixed_features


def test_health_and_server_metadata(client: httpx.Client) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2").json()["name"] == "lockship"
    assert client.get("/v2/models/model/ready").json() == {"name": "model", "ready": True}


def test_model_metadata_lists_features_and_outputs(client: httpx.Client, trained: Trained) -> None:
    body = client.get("/v2/models/model").json()
    assert body["name"] == "model"
    assert body["versions"] == ["0123456789ab"]
    assert body["inputs"] == [{"name": name, "datatype": "FP64", "shape": [-1]} for name in trained.features.columns]
    assert body["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]},
    ]


def test_unknown_model_is_404(client: httpx.Client) -> None:
    assert client.get("/v2/models/other").status_code == 404
    assert client.post("/v2/models/other/infer", json={"inputs": []}).status_code == 404


def test_infer_with_one_matrix_tensor_equals_the_in_process_model(client: httpx.Client, trained: Trained) -> None:
    model = load_model(trained.work / "model.skops")
    matrix = trained.features.to_numpy()
    tensor = {"name": "input-0", "shape": list(matrix.shape), "datatype": "FP64", "data": matrix.tolist()}
    answer = client.post("/v2/models/model/infer", json={"id": "call-1", "inputs": [tensor]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("model", "0123456789ab", "call-1")
    predict, proba = body["outputs"]
    assert predict["data"] == model.predict(trained.features).tolist()
    assert proba["shape"] == [len(matrix), 2]
    expected = model.predict_proba(trained.features).ravel()
    np.testing.assert_allclose(proba["data"], expected, rtol=1e-9, atol=1e-12)


def test_infer_with_one_tensor_per_feature(client: httpx.Client, trained: Trained) -> None:
    frame = trained.features.iloc[:3]
    inputs = [{"name": name, "shape": [3], "datatype": "FP64", "data": frame[name].tolist()} for name in frame.columns]
    by_feature = client.post("/v2/models/model/infer", json={"inputs": inputs}).json()
    records = client.post("/predict", json={"records": trained.records(3)}).json()
    assert by_feature["outputs"][0]["data"] == records["predictions"]


def test_bad_tensors_are_4xx_with_an_error_message(client: httpx.Client, trained: Trained) -> None:
    row = trained.features.iloc[0].tolist()
    bad = [
        {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "BYTES", "data": row}]},
        {"inputs": [{"name": "x", "shape": [2, 30], "datatype": "FP64", "data": row}]},
        {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [*row[:-1], "a"]}]},
        {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [*row[:-1], 1e6]}]},
        {"inputs": []},
        {"outputs": []},
    ]
    for body in bad:
        answer = client.post("/v2/models/model/infer", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]
    out_of_range = client.post("/v2/models/model/infer", json=bad[3]).json()
    assert out_of_range["detail"][0]["record"] == 0
    assert out_of_range["detail"][0]["field"] == "worst fractal dimension"


def test_bodies_valid_by_the_documented_schema_are_accepted(client: httpx.Client) -> None:
    # Issue 8: schemathesis found a schema-valid infer body rejected, and "parameters": [null, null] accepted.
    schema = client.get("/openapi.json").json()["components"]["schemas"]["InferRequest"]
    tensor = schema["properties"]["inputs"]["items"]
    values = tensor["properties"]["data"]["prefixItems"]
    for edge in ("minimum", "maximum"):
        for datatype in tensor["properties"]["datatype"]["enum"]:
            data = [value[edge] for value in values]
            body = {"id": "", "parameters": {}, "inputs": [{"name": "", "shape": [1, len(data)], "datatype": datatype,
                                                             "parameters": {}, "data": data}]}  # fmt: skip
            answer = client.post("/v2/models/model/infer", json=body)
            assert answer.status_code == 200, (edge, datatype, answer.text)
    assert schema["example"]["inputs"][0]["shape"] == [1, len(values)]
    assert client.post("/v2/models/model/infer", json=schema["example"]).status_code == 200
    invalid = {**schema["example"], "parameters": [None, None]}
    assert client.post("/v2/models/model/infer", json=invalid).status_code == 422


def test_a_batch_of_1000_rows_answers_as_predict_does(client: httpx.Client, trained: Trained) -> None:
    frame = pd.concat([trained.features] * 10, ignore_index=True).iloc[:1000]
    tensor = {
        "name": "input-0",
        "shape": list(frame.shape),
        "datatype": "FP64",
        "data": frame.to_numpy().ravel().tolist(),
    }
    answer = client.post("/v2/models/model/infer", json={"inputs": [tensor], "outputs": [{"name": "predict_proba"}]})
    assert answer.status_code == 200, answer.text
    (proba,) = answer.json()["outputs"]  # only the output asked for
    records = [{str(k): float(v) for k, v in row.items()} for row in frame.to_dict("records")]
    expected = client.post("/predict", json={"records": records}).json()["probabilities"]
    assert proba["name"] == "predict_proba" and proba["shape"] == [1000, 2]
    assert proba["data"] == np.asarray(expected).ravel().tolist()


def test_a_wrong_value_type_is_named_by_row_and_feature(client: httpx.Client, trained: Trained) -> None:
    frame = trained.features.iloc[:5]
    inputs = [{"name": name, "shape": [5], "datatype": "FP64", "data": frame[name].tolist()} for name in frame.columns]
    inputs[3]["data"][2] = "0.1"
    answer = client.post("/v2/models/model/infer", json={"inputs": inputs})
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"msg": 'expected a number, got "0.1"', "record": 2, "field": frame.columns[3]}]


HOSTILE = [
    b'{"inputs": [%s], "outputs": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"inputs": [%s], "outputs": [{"name": "\\ud800"}]}',
    b'{"inputs": [%s], "model_name": "\\udfff"}',
    b'{"inputs": [%s], "parameters": {"a": 1e999}}',
]


@pytest.mark.parametrize("template", HOSTILE, ids=["outputs-5000-deep", "output-surrogate", "model-name-surrogate",
                                                   "parameter-1e999"])  # fmt: skip
def test_hostile_request_fields_are_4xx(client: httpx.Client, trained: Trained, template: bytes) -> None:
    row = trained.features.iloc[0].tolist()
    tensor = json.dumps({"name": "x", "shape": [1, len(row)], "datatype": "FP64", "data": row}).encode()
    answer = client.post(
        "/v2/models/model/infer", content=template % tensor, headers={"content-type": "application/json"}
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]


KSERVE_TYPES = {"floor area": "FP64", "rooms": "INT64", "district": "BYTES", "has garden": "BOOL", "heating": "BYTES"}


def test_mixed_model_metadata_gives_each_feature_its_datatype(mixed_server: Server) -> None:
    body = httpx.get(f"{mixed_server.url}/v2/models/model").json()
    assert body["inputs"] == [{"name": name, "datatype": KSERVE_TYPES[name], "shape": [-1]} for name in FEATURES]
    assert body["outputs"] == [
        {"name": "predict", "datatype": "BYTES", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 3]},
    ]


def test_a_kserve_client_body_for_mixed_data_equals_the_pipeline(mixed_server: Server, mixed_work: Path) -> None:
    # What KServe's InferRequest.from_pandas(...).to_rest() sends: one tensor per column with its own datatype,
    # strings as BYTES (JSON strings), a missing string as null, and the model's name beside the inputs.
    features = mixed_features(mixed_work)
    inputs = [{"name": name, "shape": [len(features)], "datatype": KSERVE_TYPES[name], "data": features[name].tolist()}
              for name in FEATURES]  # fmt: skip
    body = {"id": "3f1c", "model_name": "model", "inputs": inputs}
    answer = httpx.post(f"{mixed_server.url}/v2/models/model/infer", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    predict, proba = answer.json()["outputs"]
    model = load_model(mixed_work / "model.skops")
    frame = pd.read_csv(mixed_work / "test.csv")[FEATURES]
    assert predict["datatype"] == "BYTES" and predict["data"] == model.predict(frame).tolist()
    assert proba["shape"] == [len(frame), 3]
    np.testing.assert_allclose(proba["data"], model.predict_proba(frame).ravel(), rtol=1e-9, atol=1e-12)
    records = httpx.post(f"{mixed_server.url}/predict", json={"records": features.to_dict("records")}, timeout=30)
    assert records.json()["predictions"] == predict["data"]


def test_a_mixed_body_problem_is_named_over_http(mixed_server: Server, mixed_work: Path) -> None:
    features = mixed_features(mixed_work).iloc[:4]
    inputs = [{"name": name, "shape": [4], "datatype": KSERVE_TYPES[name], "data": features[name].tolist()}
              for name in FEATURES]  # fmt: skip
    inputs[FEATURES.index("district")]["data"][1] = 3
    answer = httpx.post(f"{mixed_server.url}/v2/models/model/infer", json={"inputs": inputs})
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"msg": "expected a string, got 3", "record": 1, "field": "district"}]
    inputs[FEATURES.index("district")]["data"][1] = "north"
    inputs[FEATURES.index("heating")]["data"][1] = "\udfff"  # a lone surrogate, escaped by json.dumps
    answer = httpx.post(f"{mixed_server.url}/v2/models/model/infer", content=json.dumps({"inputs": inputs}),
                        headers={"content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 400, answer.text
    inputs[FEATURES.index("heating")]["data"][1] = "gas"
    inputs[FEATURES.index("district")]["datatype"] = "FP64"
    answer = httpx.post(f"{mixed_server.url}/v2/models/model/infer", json={"inputs": inputs})
    assert answer.status_code == 422
    assert answer.json()["error"] == "tensor 'district': datatype \"FP64\" does not fit the feature (use BYTES)"


def test_the_documented_mixed_example_is_accepted(mixed_server: Server) -> None:
    schema = httpx.get(f"{mixed_server.url}/openapi.json").json()["components"]["schemas"]["InferRequest"]
    assert [tensor["properties"]["datatype"]["enum"] for tensor in schema["properties"]["inputs"]["prefixItems"]][
        2:
    ] == [["BYTES"], ["BOOL"], ["BYTES"]]
    answer = httpx.post(f"{mixed_server.url}/v2/models/model/infer", json=schema["example"])
    assert answer.status_code == 200, answer.text
