"""`partner-api serve`: prepare the database once, then hand over to uvicorn's workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from auth.partners.signing_keys import ensure_signing_key, load_key_ring
from partner_api.cli.commands import CommandError, with_database
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import ensure_sqlite_directory
from partner_api.foundation.settings import Settings
from partner_api.web.observability.log_format import logging_config


async def prepare_to_serve(settings: Settings) -> None:
    """Migrate and make sure a signing key exists before any worker starts. Both happen under
    the schema lock (`with_database`), so several `serve` processes started at once on an
    empty database migrate once and create exactly one active key."""

    async def work() -> None:
        await ensure_signing_key(
            algorithm=settings.signing_algorithm,
            key_encryption_key=settings.key_encryption_key,
            now=utcnow(),
            create=not settings.production,
        )
        # Fails early, here, when the key-encryption key cannot open the stored keys.
        await load_key_ring(
            key_encryption_key=settings.key_encryption_key,
            previous_key_encryption_keys=settings.previous_key_encryption_keys,
            token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            now=utcnow(),
        )

    await with_database(settings, work)


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from partner_api.foundation.request_head import HeadBoundedHttpToolsProtocol

    if settings.metrics_port is not None and workers > 1:
        # Each worker is its own process with its own metrics; only one could bind the port.
        raise CommandError(
            "PARTNER_API_METRICS_PORT needs --workers 1: run one process per port or container "
            "and scrape each, or scrape /metrics on the main port (PARTNER_API_METRICS_TOKEN)"
        )
    asyncio.run(prepare_to_serve(settings))
    ensure_sqlite_directory(settings.database_url)
    uvicorn.run(
        "partner_api.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        # uvicorn's own httptools protocol bounds neither the URL nor the headers.
        http=HeadBoundedHttpToolsProtocol,
        proxy_headers=False,  # client addresses come from PARTNER_API_TRUSTED_PROXIES only
        server_header=False,
        # uvicorn's access log prints whole URLs, and a misbehaving client may put a secret in a
        # query string; nothing that can carry a secret is logged (SECURITY.md LG-02).
        access_log=False,
        # uvicorn applies this in every worker: its own loggers format like ours (JSON or text).
        log_config=logging_config(settings),
    )
