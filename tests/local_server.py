"""An ASGI app served by uvicorn on 127.0.0.1 for the length of a block, in the test's own event
loop: the receivers, key servers and mail-free endpoints that outbound requests are tested
against."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from tests.live_process import free_port


@asynccontextmanager
async def serve_locally(
    app: ASGIApp,
    *,
    port: int | None = None,
    certificate: tuple[Path, Path] | None = None,
    http: str = "auto",
) -> AsyncIterator[int]:
    """Serve `app` on 127.0.0.1 (on `port`, else a free one) for the block; yields the port."""
    port = free_port() if port is None else port
    certfile, keyfile = certificate or (None, None)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=http,
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the local server did not start"
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await serving
