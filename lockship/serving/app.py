"""The app factory: one verified model directory in, a FastAPI app out."""

from __future__ import annotations

import gc
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lockship import __version__
from lockship.core.errors import LockshipError
from lockship.serving.config import ENV_STARTUP_FAILURE, ServeConfig, config_from_env
from lockship.serving.middleware import BodyLimits, Observe
from lockship.serving.openapi import add_request_bodies
from lockship.serving.problems import RequestError, printable
from lockship.serving.routes import health, metadata, predict, v2
from lockship.serving.service import Service, load_service

log = logging.getLogger("lockship.serve")


def create_app(config: ServeConfig) -> FastAPI:
    """Load and verify the model (a LockshipError when it does not verify), then build the app around it."""
    return app_for(load_service(config))


def create_app_from_env() -> FastAPI:
    """The factory uvicorn's worker processes call: settings come from `LOCKSHIP_*` variables.

    A worker that cannot load the model stops the whole server (uvicorn would otherwise restart it
    forever) and leaves its reasons in the file named by LOCKSHIP_STARTUP_FAILURE for the parent.
    """
    try:
        return create_app(config_from_env())
    except LockshipError as error:
        for line in error.problems:
            log.error("%s", line)
        report = os.environ.get(ENV_STARTUP_FAILURE)
        if report:
            Path(report).write_text("\n".join(error.problems) + "\n", encoding="utf-8")
        os.kill(os.getppid(), signal.SIGTERM)
        raise SystemExit(1) from error


def app_for(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.input_log.start()
        # Everything loaded so far lives as long as the process: keep it out of every later collection.
        gc.collect()
        gc.freeze()
        service.ready = True
        log.info("ready: serving model '%s' version %s", service.config.model_name, service.version)
        try:
            yield
        finally:
            service.ready = False
            service.input_log.close()

    app = FastAPI(
        title="lockship model server",
        version=__version__,
        summary=f"Serves model version {service.version} (lock hash {service.model_dir.package.lock_hash}).",
        lifespan=lifespan,
    )
    app.state.service = service
    for router in (predict.router, v2.router, metadata.router, health.router):
        app.include_router(router)
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    config = service.config
    limits = BodyLimits(config.max_body_bytes, config.body_seconds, config.max_inflight_bytes)
    app.add_middleware(Observe, telemetry=service.telemetry, limits=limits)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            app.openapi_schema = add_request_bodies(document, service.model_dir, service.config.model_name)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def _request_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestError)
    # Field and tensor names come from the request: one that is not valid Unicode is shown escaped.
    detail = [
        {"msg": printable(p.message), "record": p.record, "field": None if p.field is None else printable(p.field)}
        for p in error.problems
    ]
    return JSONResponse({"error": printable(str(error)), "detail": detail}, status_code=error.status)


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    text = printable(str(error.detail))
    return JSONResponse({"error": text, "detail": text}, error.status_code, headers=error.headers)


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    messages = [printable(str(item.get("msg"))) for item in error.errors()]
    return JSONResponse({"error": "; ".join(messages), "detail": [{"msg": m} for m in messages]}, status_code=422)
