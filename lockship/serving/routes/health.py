"""Liveness, readiness (the model verified and answering) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from lockship.serving.dependencies import ServiceDep
from lockship.serving.schemas import ServerLive, ServerReady

router = APIRouter(tags=["health and metrics"])


@router.get("/v2/health/live", response_model=ServerLive)
async def live() -> ServerLive:
    """The process answers HTTP."""
    return ServerLive(live=True)


@router.get("/v2/health/ready", response_model=ServerReady, responses={503: {"model": ServerReady}})
async def ready(service: ServiceDep) -> Response:
    """The model file matched its packaged sha256 and the smoke prediction passed (503 until then)."""
    return JSONResponse({"ready": service.ready}, status_code=200 if service.ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(service: ServiceDep) -> Response:
    """Request counts and latencies per endpoint and status, predictions per class, the model's lock hash."""
    return Response(service.telemetry.exposition(), media_type=CONTENT_TYPE_LATEST)
