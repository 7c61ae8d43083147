"""The HTTP API's documented shapes (pydantic lives only here, at the boundary).

Request bodies are decoded by `lockship.serving.inputs` straight into numpy arrays; their schema
in the OpenAPI document is written per model by `lockship.serving.openapi`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

Label = int | float | str | bool


class PredictResponse(BaseModel):
    classes: list[Label] = Field(description="Every class the model knows, in the order of the probabilities.")
    predictions: list[Label] = Field(description="The predicted class of each record, in request order.")
    probabilities: list[list[float]] = Field(description="Per record, the probability of each class.")


class ProblemDetail(BaseModel):
    msg: str
    record: int | None = Field(None, description="Index of the offending record in the batch, from 0.")
    field: str | None = Field(None, description="The offending feature.")


class ErrorResponse(BaseModel):
    error: str = Field(description="Every problem in one line (the v2 protocol's error field).")
    detail: list[ProblemDetail] | str


class FeatureInfo(BaseModel):
    name: str
    dtype: str
    nullable: bool
    min: float | None = None
    max: float | None = None
    allowed: list[Label] | None = None


class MetadataResponse(BaseModel):
    model_name: str
    lock_hash: str
    model_sha256: str
    params: dict[str, Any]
    metrics: dict[str, float]
    target: str
    classes: list[Label]
    features: list[FeatureInfo]
    prediction_path: str = Field(description="'linear fast path' or 'scikit-learn pipeline'.")
    provenance: str = Field(
        description="'verified' only when a configured public key verified the model directory's signature; "
        "else 'self-consistent (unsigned)' or 'self-consistent (signature not checked)'."
    )
    signed_by: str | None = Field(description="The fingerprint of the public key that verified the signature.")


class ServerLive(BaseModel):
    live: bool


class ServerReady(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class TensorMetadata(BaseModel):
    name: str
    datatype: str = Field(
        description="FP64 or INT64 for a numeric feature (any numeric datatype is accepted), BOOL for a boolean, "
        "BYTES for a string (its values sent as JSON strings)."
    )
    shape: list[int] = Field(description="-1 stands for the batch's length.")


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Label]


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[ResponseOutput]
