"""The ASGI middleware every HTTP request passes: it counts and times the request, and bounds its body.

A body is refused when it passes `max_body_bytes` (413), when it has not fully arrived `body_seconds`
after the request began (408: a slow client must not hold its buffer for ever), and when the bodies
being read at once in this worker would pass `max_inflight_bytes` (503). These answers close the
connection. A client that goes away before its body has arrived is counted as status 499 (nginx's
"client closed request"), not as a server error.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lockship.serving.telemetry import Telemetry

UNMATCHED = "unmatched"
CLIENT_CLOSED = 499
CLOSE = {"connection": "close"}
RETRY = {**CLOSE, "retry-after": "1"}
SWEEP_SECONDS = 0.25


@dataclass(frozen=True)
class BodyLimits:
    max_body_bytes: int
    body_seconds: float
    max_inflight_bytes: int


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than the configured limit of {limit} bytes", CLOSE)


class BodyTooSlow(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s", CLOSE)


class Busy(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(503, f"busy: request bodies being received pass {limit} bytes; retry shortly", RETRY)


class Observe:
    """Counts and times every HTTP request by route, method and status, and enforces the body limits."""

    def __init__(self, app: ASGIApp, *, telemetry: Telemetry, limits: BodyLimits) -> None:
        self.app = app
        self.telemetry = telemetry
        self.limits = limits
        self.inflight = 0  # body bytes held by requests of this worker that are still running
        # Requests whose body is still arriving, by deadline. One sweep a fraction of a second checks
        # them all: a timer per request (asyncio.timeout) costs tens of microseconds under uvloop.
        self._reading: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeping = False
        # Each (route, method, status)'s counter and histogram: looking them up by label values on every
        # request costs more than the counting.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _watch(self, task: asyncio.Task[Any], deadline: float) -> None:
        self._reading[task] = deadline
        if not self._sweeping:
            self._sweeping = True
            asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        now = time.monotonic()
        for task, deadline in list(self._reading.items()):
            if deadline <= now:
                del self._reading[task]
                self._expired.add(task)
                task.cancel()
        self._sweeping = bool(self._reading)
        if self._sweeping:
            asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0  # until the answer starts
        limits = self.limits

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # A declared length over the limit is refused at the first read, before any byte is buffered;
        # raising inside the route (not before routing) keeps the answer counted under its endpoint.
        declared = _declared_length(scope)
        deadline = time.monotonic() + limits.body_seconds
        received = 0
        complete = disconnected = False

        async def limited_receive() -> Message:
            nonlocal received, complete, disconnected
            if complete:  # after the body, a receive waits for the disconnect: no deadline then
                return await receive()
            if declared > limits.max_body_bytes:
                raise BodyTooLarge(limits.max_body_bytes)
            task = asyncio.current_task()
            assert task is not None
            self._watch(task, deadline)
            try:
                message = await receive()
            except asyncio.CancelledError:
                if task not in self._expired:
                    raise
                self._expired.discard(task)
                task.uncancel()
                raise BodyTooSlow(limits.body_seconds) from None
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                received += size
                self.inflight += size
                complete = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                disconnected = True
            if complete or disconnected:
                self._reading.pop(task, None)
            if received > limits.max_body_bytes:
                raise BodyTooLarge(limits.max_body_bytes)
            if self.inflight > limits.max_inflight_bytes:
                raise Busy(limits.max_inflight_bytes)
            return message

        try:
            await self.app(scope, limited_receive, observed_send)
        except ClientDisconnect:
            pass  # nobody is left to answer
        finally:
            task = None if complete else asyncio.current_task()
            if task is not None:
                self._reading.pop(task, None)
                self._expired.discard(task)
            self.inflight -= received
            if status == 0:
                status = CLIENT_CLOSED if disconnected else 500
            labels = (getattr(scope.get("route"), "path", UNMATCHED), scope["method"], status)
            counted = self._series.get(labels)
            if counted is None:
                counted = self._series[labels] = self.telemetry.request_series(*labels)
            counted[0].inc()
            counted[1].observe(time.perf_counter() - start)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
