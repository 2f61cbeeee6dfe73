"""What one webhook attempt sends, and when the next one follows a failure.

The message follows Standard Webhooks: the body is
`{"type": ..., "timestamp": ..., "data": {"organisation_id": ..., ...}}` (compact JSON, the
event's `data` as recorded, so never a secret, hash or token: WH-02), signed by the
specification's own library over `webhook-id`, `webhook-timestamp` and the body. `webhook-id` is
the delivery's, the same on every retry, so a receiver that saw an attempt whose answer was lost
can drop the repeat.

Retries back off exponentially with ±20% jitter (so endpoints that failed together do not all
return together) and span about a day:

    attempt   1     2     3      4      5    6    7     8
    after     -     5 s   5 min  30 min 2 h  5 h  10 h  10 h   (each ±20%; ~27.6 h in all)

after which the delivery is FAILED.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

import orjson
from standardwebhooks.webhooks import Webhook

from models.notifications import NotificationEvent

USER_AGENT = "partner-api-webhooks/1"
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2


def message_id(delivery_id: UUID) -> str:
    return f"msg_{delivery_id.hex}"


def _timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the specification's examples write it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(event: NotificationEvent) -> bytes:
    data = {"organisation_id": str(event.organisation_id), **event.data}  # type: ignore[attr-defined]
    return orjson.dumps(
        {"type": event.type.value, "timestamp": _timestamp(event.occurred_at), "data": data}
    )


def signed_headers(secret: str, msg_id: str, now: datetime, body: bytes) -> dict[str, str]:
    """The request headers; `now` is the signing moment, which receivers hold to ±5 minutes of
    their clock, so it is the attempt's, never the event's."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }


def retry_delay(attempts: int, rng: random.Random) -> timedelta | None:
    """How long after failed attempt number `attempts` (1-based) the next one follows; None when
    that was the last."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[attempts - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
