"""`POST /secret-scanning/github`: GitHub's secret-scanning partner program reports leaked `pcs_`
secrets here (SECURITY-PLANNED.md LK-01..03). The logic lives in
partner_api/operations/leak_reports.py and github_keys.py; this is the HTTP framing.

Checks run cheapest first, and nothing changes until all have passed:

    size            Content-Length or the body past 64 KiB ........ 413 payload_too_large
    shape           JSON array of 1..100 {token ≤ 256, type, ...} .. 400 invalid_request
    signature       headers present, key listed, ECDSA verifies .... 401 invalid_signature
                    GitHub's key list never fetched ................ 503 temporarily_unavailable
    replay          this signed body was handled before ............ 409 already_handled
    then            the labels, in GitHub's feedback format ........ 200

A replay is refused rather than answered again: the issue asks 4xx for replays, and a report GitHub
really sends again after losing our answer was already acted on in full (leak_reports.act_on
commits the report and its actions together).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.admins.identity import Actor
from auth.partners.keyed_hash import KeyedHasher
from partner_api.foundation.asgi_endpoint import AsgiEndpoint
from partner_api.foundation.client_address import client_address
from partner_api.foundation.clock import utcnow
from partner_api.foundation.error_body import error_body
from partner_api.foundation.json_response import JSONResponse
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.request_body import read_bounded
from partner_api.operations.github_keys import GitHubKeys, KeysUnavailable, SignatureRefused
from partner_api.operations.leak_reports import (
    MAX_BODY_BYTES,
    MalformedReport,
    ReplayedReport,
    act_on,
    already_handled,
    judge,
    parse_report,
    report_digest,
)
from partner_api.operations.services import Services

PATH = "/secret-scanning/github"
KEY_ID_HEADER = "github-public-key-identifier"
SIGNATURE_HEADER = "github-public-key-signature"
_NO_STORE = {"Cache-Control": "no-store"}
logger = logging.getLogger("partner_api.secret_scanning")


def _refusal(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(error_body(error, description), status_code=status, headers=_NO_STORE)


def _declared_too_large(request: Request) -> bool | None:
    """True past the limit, None when Content-Length is not a number, else False."""
    declared = request.headers.getlist("content-length")
    if not declared:
        return False
    if len(declared) > 1 or not (declared[0].isascii() and declared[0].isdigit()):
        return None
    return len(declared[0]) > 20 or int(declared[0]) > MAX_BODY_BYTES


class SecretScanningEndpoint(AsgiEndpoint):
    """GitHub's alert payload in, one label per token out (see the module docstring)."""

    __slots__ = ("_hasher", "_trusted_proxies", "keys")

    logger = logger
    fault_message = "unexpected fault in the secret-scanning endpoint"

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self._hasher: KeyedHasher = services.hasher
        self._trusted_proxies = settings.trusted_proxies
        self.keys = GitHubKeys(
            settings.leak_reports.github_keys_url,
            OutboundPolicy(production=settings.production),
            token=settings.leak_reports.github_token,
        )

    async def respond(self, request: Request) -> Response:
        try:
            if request.method != "POST":
                return _refusal(405, "method_not_allowed", "Only POST is allowed here.")
            return await self._report(request)
        except Exception as error:
            return self.fault(error)

    def fault_response(self) -> Response:
        return _refusal(500, "server_error", "The report could not be handled; send it again.")

    async def _report(self, request: Request) -> Response:
        too_large = _declared_too_large(request)
        if too_large is None:
            return _refusal(400, "invalid_request", "Content-Length is not a number.")
        body = None if too_large else await read_bounded(request.receive, MAX_BODY_BYTES)
        if body is None:
            limit = f"A report is at most {MAX_BODY_BYTES} bytes."
            return _refusal(413, "payload_too_large", limit)
        try:
            reported = parse_report(body)
        except MalformedReport as error:
            return _refusal(400, "invalid_request", str(error))
        key_ids = request.headers.getlist(KEY_ID_HEADER)
        signatures = request.headers.getlist(SIGNATURE_HEADER)
        if len(key_ids) != 1 or len(signatures) != 1:
            logger.warning("secret-scanning report refused: not signed once")
            return _unsigned()
        try:
            await self.keys.verify(body, key_ids[0], signatures[0])
        except SignatureRefused as refused:
            logger.warning("secret-scanning report refused: %s", refused.reason)
            return _unsigned()
        except KeysUnavailable:
            logger.error("secret-scanning report not checked: GitHub's keys are unavailable")
            return _refusal(
                503, "temporarily_unavailable", "The signing keys are unavailable; retry later."
            )
        digest = report_digest(body)
        if await already_handled(digest):
            return _replayed()
        verdicts = await judge(self._hasher, reported)
        actor = Actor(
            identity=None,
            ip_address=client_address(request, self._trusted_proxies),
            user_agent=request.headers.get("user-agent"),
        )
        try:
            await act_on(verdicts, digest=digest, actor=actor, now=utcnow())
        except ReplayedReport:
            return _replayed()
        confirmed = sum(verdict.secret_id is not None for verdict in verdicts)
        logger.info(
            "secret-scanning report handled: %d tokens, %d true positives",
            len(verdicts),
            confirmed,
        )
        return JSONResponse([verdict.answer() for verdict in verdicts], headers=_NO_STORE)


def _unsigned() -> JSONResponse:
    # One answer for every signature failure: which check failed is for our log only.
    return _refusal(401, "invalid_signature", "The report is not signed by a key GitHub lists.")


def _replayed() -> JSONResponse:
    return _refusal(409, "already_handled", "This report was handled before.")


def secret_scanning_routes(services: Services) -> list[Route]:
    return [Route(PATH, SecretScanningEndpoint(services))]
