"""The Open Inference Protocol v2 endpoints against the real server."""

from __future__ import annotations

import httpx
import numpy as np

from lockship.modelfile import load_model
from tests.serving.conftest import Trained


def test_health_and_server_metadata(client: httpx.Client) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2").json()["name"] == "lockship"
    assert client.get("/v2/models/model/ready").json() == {"name": "model", "ready": True}


def test_model_metadata_lists_features_and_outputs(client: httpx.Client, trained: Trained) -> None:
    body = client.get("/v2/models/model").json()
    assert body["name"] == "model"
    assert body["versions"] == ["0123456789ab"]
    assert [tensor["name"] for tensor in body["inputs"]] == list(trained.features.columns)
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
