"""The Open Inference Protocol v2 (KServe, Seldon, Triton): server and model metadata, readiness, inference."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Response

from lockship import __version__
from lockship.serving.dependencies import BodyDep, NamedModelDep
from lockship.serving.routes.predict import ERRORS
from lockship.serving.schemas import (
    ErrorResponse,
    InferResponse,
    ModelMetadata,
    ModelReady,
    ServerMetadata,
    TensorMetadata,
)
from lockship.serving.tensors import PREDICT_OUTPUT, PROBA_OUTPUT, decode_infer, feature_datatype

router = APIRouter(prefix="/v2", tags=["v2 inference protocol"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No model of that name."}}


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
    rules = service.decoder.rules
    count = len(service.predictor.classes)
    return ModelMetadata(
        name=service.config.model_name,
        versions=[service.version],
        platform="sklearn",
        inputs=[TensorMetadata(name=rule.name, datatype=feature_datatype(rule), shape=[-1]) for rule in rules],
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
    """Predict from one [N] tensor per feature by name (BYTES for strings), or one [N, features] numeric tensor."""
    request = decode_infer(service.decoder, body)
    prediction = service.predict(request.inputs)
    rows, classes = prediction.probabilities.shape
    outputs = {
        PREDICT_OUTPUT: {
            "name": PREDICT_OUTPUT,
            "shape": [rows],
            "datatype": _datatype(service.predictor.classes),
            "data": service.labels(prediction),
        },
        PROBA_OUTPUT: {
            "name": PROBA_OUTPUT,
            "shape": [rows, classes],
            "datatype": "FP64",
            "data": prediction.probabilities.ravel(),
        },
    }
    payload = {
        "model_name": service.config.model_name,
        "model_version": service.version,
        "id": request.id,
        "outputs": [outputs[name] for name in request.outputs],
    }
    return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")
