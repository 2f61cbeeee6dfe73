"""The baseline for the benchmarks: bare Starlette endpoints doing the unavoidable minimum — a
token endpoint that parses the form body, and a `GET /partner/v1/me` — each answering JSON of the
same size as ours, served by the same uvicorn."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# Same length as a real token response (the benchmark passes it in, measured from a real one).
RESPONSE_BYTES = int(os.environ.get("BARE_RESPONSE_BYTES", "800"))
_FILLER = "x" * max(0, RESPONSE_BYTES - len('{"access_token":"","token_type":"Bearer"}'))
_ME_FILLER = "x" * max(0, RESPONSE_BYTES - len('{"filler":""}'))


async def token(request: Request) -> JSONResponse:
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    return JSONResponse(
        {"access_token": _FILLER, "token_type": "Bearer"},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def me(request: Request) -> JSONResponse:
    return JSONResponse({"filler": _ME_FILLER})


app = Starlette(
    routes=[
        Route("/oauth/token", token, methods=["POST"]),
        Route("/partner/v1/me", me, methods=["GET"]),
    ]
)
