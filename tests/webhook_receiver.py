"""A webhook receiver for the delivery tests: uvicorn in this process on 127.0.0.1, checking every
request with the Standard Webhooks reference library (`Webhook(secret).verify`), never with our
own code, and recording what arrived.

It answers 204, or the statuses queued with `answer_next`, after `delay_seconds`; a 3xx answer
points to `/elsewhere`, which counts any request that follows it. A request that does not verify
is answered 400 and recorded in `unverified`.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.live_process import free_port
from tests.local_server import serve_locally


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    message: dict[str, Any]  # the verified body, parsed

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    port: int
    secret: str | None = None
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    followed_redirects: int = 0
    # Every request that reached the handler, verified or not, as it arrived.
    arrivals: int = 0
    # Requests being handled now: their sender has not had its answer yet.
    in_progress: int = 0
    _answers: deque[int] = field(default_factory=deque)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer_next(self, *statuses: int) -> None:
        self._answers.extend(statuses)

    def ids(self) -> Counter[str]:
        return Counter(item.webhook_id for item in self.received)

    async def hook(self, request: Request) -> Response:
        self.arrivals += 1
        self.in_progress += 1
        try:
            return await self._answer(request)
        finally:
            self.in_progress -= 1

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        assert self.secret is not None, "the receiver has no secret to verify with"
        try:
            message = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as error:
            self.unverified.append(str(error))
            return Response(status_code=400)
        self.received.append(Received(headers=headers, body=body, message=message))
        status = self._answers.popleft() if self._answers else 204
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if 300 <= status < 400:
            return Response(status_code=status, headers={"location": "/elsewhere"})
        return Response(status_code=status)

    async def elsewhere(self, request: Request) -> Response:
        self.followed_redirects += 1
        return Response(status_code=204)


@asynccontextmanager
async def serve_receiver(
    secret: str | None = None, *, delay_seconds: float = 0.0
) -> AsyncIterator[Receiver]:
    receiver = Receiver(port=free_port(), secret=secret, delay_seconds=delay_seconds)
    app = Starlette(
        routes=[
            Route("/hook", receiver.hook, methods=["POST"]),
            Route("/elsewhere", receiver.elsewhere, methods=["GET", "POST"]),
        ]
    )
    async with serve_locally(app, port=receiver.port):
        yield receiver
