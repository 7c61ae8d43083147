"""The Open Inference Protocol v2 (KServe, Seldon, Triton): server and model metadata, readiness, inference."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Response

from lockship import __version__
from lockship.serving.dependencies import BodyDep, NamedModelDep
from lockship.serving.problems import Problem, RequestError
from lockship.serving.routes.predict import ERRORS
from lockship.serving.schemas import (
    ErrorResponse,
    InferResponse,
    ModelMetadata,
    ModelReady,
    ServerMetadata,
    TensorMetadata,
)
from lockship.serving.service import Service

router = APIRouter(prefix="/v2", tags=["v2 inference protocol"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No model of that name."}}
PREDICT_OUTPUT = "predict"
PROBA_OUTPUT = "predict_proba"


def _datatype(labels: list[Any]) -> str:
    if all(isinstance(label, bool) for label in labels):
        return "BOOL"
    if all(isinstance(label, int) and not isinstance(label, bool) for label in labels):
        return "INT64"
    if all(isinstance(label, float) for label in labels):
        return "FP64"
    return "BYTES"


@router.get("", response_model=ServerMetadata)
async def server_metadata() -> ServerMetadata:
    """Server name, version and protocol extensions."""
    return ServerMetadata(name="lockship", version=__version__, extensions=[])


@router.get("/models/{name}", response_model=ModelMetadata, responses=NOT_FOUND)
async def model_metadata(service: NamedModelDep) -> ModelMetadata:
    """The model's version (the lock hash's first 12 hex digits), input tensors and output tensors."""
    features = service.model_dir.features
    count = len(service.predictor.classes)
    return ModelMetadata(
        name=service.config.model_name,
        versions=[service.version],
        platform="sklearn",
        inputs=[TensorMetadata(name=f.name, datatype="FP64", shape=[-1]) for f in features],
        outputs=[
            TensorMetadata(name=PREDICT_OUTPUT, datatype=_datatype(service.predictor.classes), shape=[-1]),
            TensorMetadata(name=PROBA_OUTPUT, datatype="FP64", shape=[-1, count]),
        ],
    )


@router.get("/models/{name}/ready", response_model=ModelReady, responses=NOT_FOUND)
async def model_ready(service: NamedModelDep) -> ModelReady:
    """Whether the named model answers predictions."""
    return ModelReady(name=service.config.model_name, ready=service.ready)


@router.post("/models/{name}/infer", response_model=InferResponse, responses={**ERRORS, **NOT_FOUND})
async def infer(service: NamedModelDep, body: BodyDep) -> Response:
    """Predict from one [N, features] FP64 tensor in training order, or one [N] tensor per feature by name."""
    decoder = service.decoder
    request, refused = decoder.parse(body)
    if not isinstance(request, dict) or "inputs" not in request:
        decoder.strict(refused)
        raise RequestError(422, Problem("expected a JSON object with 'inputs', a list of tensors"))
    identifier = request.get("id")
    if "id" in request and not isinstance(identifier, str):
        raise RequestError(422, Problem("'id' must be a string"))
    if "parameters" in request and not isinstance(request["parameters"], dict):
        raise RequestError(422, Problem("'parameters' must be an object"))
    inputs = decoder.tensors(request["inputs"])
    decoder.strict(refused)  # e.g. an 'id' holding a lone surrogate, which no JSON answer can echo
    return _respond(service, inputs, identifier)


def _respond(service: Service, inputs: Any, identifier: str | None) -> Response:
    prediction = service.predict(inputs)
    labels = service.labels(prediction)
    rows, classes = prediction.probabilities.shape
    payload = {
        "model_name": service.config.model_name,
        "model_version": service.version,
        "id": identifier,
        "outputs": [
            {"name": PREDICT_OUTPUT, "shape": [rows], "datatype": _datatype(service.predictor.classes), "data": labels},
            {
                "name": PROBA_OUTPUT,
                "shape": [rows, classes],
                "datatype": "FP64",
                "data": prediction.probabilities.ravel(),
            },
        ],
    }
    return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")
