"""The app's own OpenAPI document: per-model request bodies, and schemathesis finds no 5xx against it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx

from tests.conftest import run
from tests.serving.conftest import Server, Trained


def test_the_predict_body_schema_is_the_training_schema(client: httpx.Client, trained: Trained) -> None:
    document = client.get("/openapi.json").json()
    infer = document["paths"]["/v2/models/{name}/infer"]["post"]
    assert infer["parameters"][0]["schema"]["enum"] == ["model"]
    record = document["components"]["schemas"]["Record"]
    assert record["required"] == list(trained.features.columns)
    assert record["additionalProperties"] is False
    assert record["properties"]["mean radius"] == {"type": "number", "minimum": 6.981, "maximum": 28.11}
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PredictRequest"}
    assert "summary" in document["paths"]["/predict"]["post"]
    assert document["paths"]["/predict"]["post"]["description"].startswith("Predict a batch of records")


def test_schemathesis_finds_no_server_error(server: Server, tmp_path: Path) -> None:
    # Bounded: a fixed seed; the deterministic examples and coverage phases run in full (a few seconds),
    # then random fuzzing fills the rest of a 20 s budget.
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    options = ["--checks", "not_a_server_error", "--max-examples", "20", "--seed", "1", "--max-time", "20",
               "--phases", "examples,coverage,fuzzing", "--request-timeout", "10",
               "--report-dir", str(tmp_path)]  # fmt: skip
    result = run(st, "run", f"{server.url}/openapi.json", *options, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✅ Coverage" in result.stdout
    assert " passed" in result.stdout and " failed" not in result.stdout
