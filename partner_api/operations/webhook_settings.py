"""A webhook endpoint's settings as an admin gives them, checked; and its signing secret.

Each refusal names the input field at fault (GraphQL camelCase), like the credential inputs
(partner_api/foundation/validation.py).

The signing secret is `whsec_` and the standard base64 of 32 random bytes, the form Standard
Webhooks libraries take. Standard Webhooks signs with the secret itself, so it cannot be kept as a
hash like a client secret: it is sealed with the key-encryption key (partner_api/foundation/
sealed.py), bound to the endpoint's id, and only the delivery worker opens it (WH-01).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from tortoise.transactions import in_transaction

from models.notifications import WebhookEndpoint
from partner_api.foundation.outbound_policy import OutboundPolicy, OutboundRefused, check_url
from partner_api.foundation.sealed import SealError, open_sealed, seal
from partner_api.foundation.validation import InvalidInput, refuse_invisible
from partner_api.operations.notification_events import SUBSCRIBABLE

DESCRIPTION_MAX_LENGTH = 500
SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
SECRET_BYTES = 32
SECRET_PURPOSE = b"webhook secrets"


def clean_url(value: str, policy: OutboundPolicy) -> str:
    """The normalised URL; in production only https:// to a public address (WH-03)."""
    refuse_invisible("url", value, label="URL")
    try:
        return check_url(value.strip(), policy)
    except OutboundRefused as refused:
        raise InvalidInput("url", refused.reason[:1].upper() + refused.reason[1:] + ".") from None


def clean_event_types(values: Sequence[str]) -> list[str]:
    """The subscribed types without duplicates, in the order `notificationEventTypes` lists them."""
    for value in values:
        refuse_invisible("eventTypes", value, label="Event types")
    known = [kind.value for kind in SUBSCRIBABLE]
    unknown = sorted({value for value in values if value not in known})
    if unknown:
        raise InvalidInput("eventTypes", f"Unknown event type: {', '.join(unknown)}.")
    if not values:
        raise InvalidInput("eventTypes", "Choose at least one event type.")
    return [kind for kind in known if kind in values]


def clean_description(value: str | None) -> str:
    if value is None:
        return ""
    refuse_invisible("description", value, label="Description")
    description = value.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(
            "description",
            f"Description must be at most {DESCRIPTION_MAX_LENGTH} characters long.",
        )
    return description


@dataclass(frozen=True)
class SealedSecret:
    """A new signing secret: `value` is returned once to the admin, never stored or logged;
    `sealed` and `hint` are what the endpoint row keeps."""

    value: str
    sealed: str
    hint: str


def new_signing_secret(endpoint_id: UUID, *, key_encryption_key: bytes) -> SealedSecret:
    value = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
    sealed = seal(
        value.encode("ascii"),
        purpose=SECRET_PURPOSE,
        bound_to=endpoint_id.bytes,
        key_encryption_key=key_encryption_key,
    )
    return SealedSecret(value=value, sealed=sealed, hint=value[-4:])


def signing_secret(endpoint: WebhookEndpoint, *, keys: Sequence[bytes]) -> str:
    """The endpoint's `whsec_…` secret, for signing a delivery; `keys` are the current and previous
    key-encryption keys. Raises `sealed.SealError` when none opens it."""
    opened = open_sealed(
        endpoint.sealed_secret, purpose=SECRET_PURPOSE, bound_to=endpoint.id.bytes, keys=keys
    )
    return opened.decode("ascii")


async def reseal_signing_secrets(
    *, key_encryption_key: bytes, previous_key_encryption_keys: Sequence[bytes]
) -> int:
    """Seal with the current key-encryption key every endpoint secret that only a previous one
    opens (`partner-api reencrypt-signing-keys` does it beside the signing keys), so the previous
    keys can leave the configuration. One transaction; how many were re-sealed. A secret no
    configured key opens stops it (`sealed.SealError`)."""
    changed = 0
    async with in_transaction():
        for endpoint in await WebhookEndpoint.all().select_for_update():
            try:
                signing_secret(endpoint, keys=(key_encryption_key,))
                continue
            except SealError:
                pass
            value = signing_secret(
                endpoint, keys=(key_encryption_key, *previous_key_encryption_keys)
            )
            endpoint.sealed_secret = seal(
                value.encode("ascii"),
                purpose=SECRET_PURPOSE,
                bound_to=endpoint.id.bytes,
                key_encryption_key=key_encryption_key,
            )
            await endpoint.save(update_fields=["sealed_secret"])
            changed += 1
    return changed
