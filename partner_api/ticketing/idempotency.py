"""`Idempotency-Key` on the Partner API's writes: the same key and request replay the stored
answer; the same key with another request is a 409. The answer is stored in the same transaction
as the change, so a retry after a lost response never repeats the change.

The key is looked up only when the change fails (its unique record already exists, or the change
is refused): a first use, nearly every request, pays one insert and no read. A used key's
request runs its change in a transaction that then rolls back, so what it answers and what the
database holds are those of looking the key up first."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import Response
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from auth.partners.resource_server import Partner
from models.row_insert import RowInsert
from models.ticketing import IdempotentResponse
from partner_api.foundation.clock import utcnow
from partner_api.ticketing.api_error import ApiError
from partner_api.ticketing.partner_responses import NO_STORE, json_answer

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")

_INSERT_RECORD = RowInsert(IdempotentResponse)

# The change itself: its status and JSON document, run inside the transaction that stores them.
Work = Callable[[], Awaitable[tuple[int, Any]]]


async def idempotent(
    request: Request, partner: Partner, data: dict[str, Any] | None, work: Work
) -> Response:
    """`work`'s answer, once per key: `data` is the parsed body, part of the request's
    fingerprint with its method and path."""
    key = request.headers.get("idempotency-key")
    if key is None:
        status, body = await work()
        return json_answer(body, status)
    if _IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise ApiError(
            400,
            "invalid_request",
            "Idempotency-Key is 1 to 255 printable characters.",
            "Idempotency-Key",
        )
    fingerprint = hashlib.sha256(
        json.dumps([request.method, request.url.path, data], sort_keys=True).encode()
    ).hexdigest()
    credential_id = partner.credential.id
    try:
        async with in_transaction():
            status, body = await work()
            response = json_answer(body, status)
            # The rendered bytes are stored, so a replay is byte-identical to the original.
            await _INSERT_RECORD.insert(
                [
                    {
                        "id": uuid4(),
                        "credential_id": credential_id,
                        "key": key,
                        "request_hash": fingerprint,
                        "status_code": status,
                        "body": bytes(response.body).decode("utf-8"),
                        "created_at": utcnow(),
                    }
                ]
            )
        return response
    except (ApiError, IntegrityError):
        # Looked up only now: a new key (nearly every request) costs no read. A used one is found
        # here, whether its record stopped our insert (a retry, or a concurrent request that
        # won) or the change was refused (a retry after the tickets sold out, or another request
        # under the key): the transaction has rolled back, so the stored answer, or the 409
        # below, is all that happens, as if the key had been looked up first.
        stored = await IdempotentResponse.get_or_none(credential_id=credential_id, key=key)
        if stored is None:
            raise
    if stored.request_hash != fingerprint:
        raise ApiError(409, "conflict", "This Idempotency-Key was used for another request.")
    return Response(
        stored.body,
        status_code=stored.status_code,
        media_type="application/json",
        headers={**NO_STORE, "Idempotent-Replayed": "true"},
    )
