"""POST /predict against the real server: answers equal the in-process model's, and every bad request is a 4xx."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from lockship.modelfile import load_model
from tests.serving.conftest import Trained


def test_predictions_equal_the_in_process_model(client: httpx.Client, trained: Trained) -> None:
    model = load_model(trained.work / "model.skops")
    answer = client.post("/predict", json={"records": trained.records()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["classes"] == [0, 1]
    assert body["predictions"] == model.predict(trained.features).tolist()
    np.testing.assert_allclose(body["probabilities"], model.predict_proba(trained.features), rtol=1e-9, atol=1e-12)


def test_a_single_record_matches_its_row_in_a_batch(client: httpx.Client, trained: Trained) -> None:
    batch = client.post("/predict", json={"records": trained.records(5)}).json()
    single = client.post("/predict", json={"records": trained.records(5)[3:4]}).json()
    assert single["predictions"] == batch["predictions"][3:4]
    assert single["probabilities"] == batch["probabilities"][3:4]


def test_integers_are_accepted_for_float_features(client: httpx.Client, trained: Trained) -> None:
    record = trained.records(1)[0]
    record["mean area"] = int(record["mean area"])
    assert client.post("/predict", json={"records": [record]}).status_code == 200


def _problems(answer: httpx.Response) -> list[tuple[int | None, str | None]]:
    return [(item["record"], item["field"]) for item in answer.json()["detail"]]


def test_malformed_json_is_400(client: httpx.Client) -> None:
    answer = client.post(
        "/predict", content=b'{"records": [{"mean radius": 1.0,', headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert "malformed JSON" in answer.json()["error"]


def test_wrong_field_names_are_422_naming_record_and_field(client: httpx.Client, trained: Trained) -> None:
    records = trained.records(3)
    records[2]["mean radius (cm)"] = records[2].pop("mean radius")
    answer = client.post("/predict", json={"records": records})
    assert answer.status_code == 422
    assert _problems(answer) == [(2, "mean radius"), (2, "mean radius (cm)")]
    assert "record 2, field 'mean radius (cm)': not a feature of the model" in answer.json()["error"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_nan_and_infinity_are_422_naming_record_and_field(
    client: httpx.Client, trained: Trained, literal: bytes
) -> None:
    records = trained.records(2)
    records[1]["mean texture"] = 12345.0
    body = httpx.Request("POST", "/", json={"records": records}).content.replace(b"12345.0", literal)
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert _problems(answer) == [(1, "mean texture")]
    assert "not a finite number" in answer.json()["error"]


def test_an_integer_beyond_the_float_range_is_422(client: httpx.Client, trained: Trained) -> None:
    records = trained.records(2)
    records[1]["mean texture"] = 12345.0
    body = httpx.Request("POST", "/", json={"records": records}).content.replace(b"12345.0", b"9" * 400)
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert _problems(answer) == [(1, "mean texture")]


def test_empty_batch_is_422(client: httpx.Client) -> None:
    answer = client.post("/predict", json={"records": []})
    assert answer.status_code == 422
    assert "empty batch" in answer.json()["error"]


@pytest.mark.parametrize(
    ("value", "message"),
    [(100.0, "above the schema's maximum 28.11"), (0.5, "below the schema's minimum 6.981"),
     ("12.3", "expected a number"), (True, "expected a number"), (None, "does not allow a missing value")],
)  # fmt: skip
def test_values_breaking_the_schema_are_422(
    client: httpx.Client, trained: Trained, value: object, message: str
) -> None:
    records = trained.records(4)
    records[3]["mean radius"] = value
    answer = client.post("/predict", json={"records": records})
    assert answer.status_code == 422
    assert _problems(answer) == [(3, "mean radius")]
    assert message in answer.json()["error"]


@pytest.mark.parametrize("body", [[], {"rows": []}, {"records": {}}, {"records": [1, 2]}, {"records": [[1.0]]}])
def test_wrong_shapes_are_422(client: httpx.Client, body: object) -> None:
    assert client.post("/predict", json=body).status_code == 422


def test_oversized_body_is_413(client: httpx.Client, trained: Trained) -> None:
    padding = b" " * (8 * 1024 * 1024 + 1)
    body = b'{"records": ' + padding + httpx.Request("POST", "/", json=trained.records(1)).content + b"}"
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert "8388608 bytes" in answer.json()["detail"]


def test_oversized_chunked_body_is_413(client: httpx.Client) -> None:
    def chunks() -> object:
        for _ in range(9):
            yield b" " * (1024 * 1024)

    answer = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})  # type: ignore[arg-type]
    assert answer.status_code == 413
