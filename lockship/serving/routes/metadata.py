"""`GET /metadata`: where the served model comes from and what it expects."""

from __future__ import annotations

from fastapi import APIRouter

from lockship.serving.dependencies import ServiceDep
from lockship.serving.schemas import FeatureInfo, MetadataResponse

router = APIRouter(tags=["metadata"])


@router.get("/metadata", response_model=MetadataResponse)
async def metadata(service: ServiceDep) -> MetadataResponse:
    """Lock hash, params, metrics and the feature schema of the served model."""
    model_dir = service.model_dir
    package = model_dir.package
    features = []
    for feature in model_dir.features:
        rule = model_dir.schema.column(feature.name)
        features.append(
            FeatureInfo(
                name=feature.name,
                dtype=rule.dtype if rule else feature.dtype,
                nullable=rule.nullable if rule else False,
                min=rule.minimum if rule else None,
                max=rule.maximum if rule else None,
                allowed=list(rule.allowed) if rule and rule.allowed is not None else None,
            )
        )
    return MetadataResponse(
        model_name=service.config.model_name,
        lock_hash=package.lock_hash,
        model_sha256=package.model_sha256,
        params=dict(package.params),
        metrics=dict(package.metrics),
        target=model_dir.target,
        classes=list(model_dir.classes),
        features=features,
        prediction_path=service.predictor.path,
        provenance=service.provenance.status,
        signed_by=service.provenance.key,
    )
