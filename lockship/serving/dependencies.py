"""Request dependencies. All are `async` so FastAPI runs them on the event loop, not in a thread pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from lockship.serving.service import Service

JSON = "application/json"


async def get_service(request: Request) -> Service:
    """The app's loaded model and its helpers."""
    service: Service = request.app.state.service
    return service


async def raw_body(request: Request) -> bytes:
    """The request body as bytes, decoded by lockship rather than pydantic (see `lockship.serving.inputs`).

    Only `application/json` is read: a web page can make a browser post `text/plain` or a form to a
    server on the user's machine without asking (no CORS preflight), but not JSON.
    """
    kind = request.headers.get("content-type", "")
    if kind != JSON and kind.partition(";")[0].strip().lower() != JSON:
        raise HTTPException(415, f"send the body as JSON with the header 'Content-Type: {JSON}'")
    return await request.body()


ServiceDep = Annotated[Service, Depends(get_service)]
BodyDep = Annotated[bytes, Depends(raw_body)]


async def named_model(name: str, service: ServiceDep) -> Service:
    """The service when `name` is the served model's name; 404 otherwise."""
    if name != service.config.model_name:
        raise HTTPException(404, f"no model named '{name}'; this server serves '{service.config.model_name}'")
    return service


NamedModelDep = Annotated[Service, Depends(named_model)]
