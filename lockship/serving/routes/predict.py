"""`POST /predict`: a JSON batch of records with named features in, classes and probabilities out."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from lockship.serving.dependencies import BodyDep, ServiceDep
from lockship.serving.schemas import ErrorResponse, PredictResponse

router = APIRouter(tags=["predict"])

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorResponse, "description": "The body is not JSON."},
    408: {"model": ErrorResponse, "description": "The body did not arrive within the configured time."},
    413: {"model": ErrorResponse, "description": "The body is larger than the configured limit."},
    415: {"model": ErrorResponse, "description": "The body is not sent as application/json."},
    422: {
        "model": ErrorResponse,
        "description": "A record breaks the training schema; each problem names the record and field.",
    },
    503: {"model": ErrorResponse, "description": "Too many request bodies are being received at once; retry."},
}


@router.post("/predict", response_model=PredictResponse, responses=ERRORS)
async def predict(service: ServiceDep, body: BodyDep) -> Response:
    """Predict a batch of records: the class of each and the probability of every class."""
    inputs = service.decoder.records(body)
    prediction = await service.predict_async(inputs)
    payload = {
        "classes": service.predictor.classes,
        "predictions": service.labels(prediction),
        "probabilities": prediction.probabilities,
    }
    return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")
