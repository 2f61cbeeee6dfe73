"""Rotating the key-encryption key: `partner-api reencrypt-signing-keys` also re-seals the webhook
endpoints' signing secrets, so the previous key can leave the configuration without stopping
every delivery (WH-01: the secret stays usable and never appears in the clear)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from models.notifications import WebhookEndpoint
from partner_api.foundation.sealed import SealError
from partner_api.operations.webhook_settings import (
    new_signing_secret,
    reseal_signing_secrets,
    signing_secret,
)
from tests.helpers import make_admin

OLD_KEY = b"old-key-encryption-key-0123456789abcdefghijk"
NEW_KEY = b"new-key-encryption-key-0123456789abcdefghijk"


async def endpoint_sealed_with(key: bytes) -> tuple[WebhookEndpoint, str]:
    _, organisation, _ = await make_admin()
    endpoint_id = uuid4()
    secret = new_signing_secret(endpoint_id, key_encryption_key=key)
    endpoint = await WebhookEndpoint.create(
        id=endpoint_id,
        organisation=organisation,
        url="https://hooks.partner.example/in",
        event_types=["credential.created"],
        sealed_secret=secret.sealed,
        secret_hint=secret.hint,
    )
    return endpoint, secret.value


async def test_wh01_secrets_sealed_with_the_previous_key_are_resealed_with_the_current_one(
    db: Any,
) -> None:
    endpoint, value = await endpoint_sealed_with(OLD_KEY)

    changed = await reseal_signing_secrets(
        key_encryption_key=NEW_KEY, previous_key_encryption_keys=(OLD_KEY,)
    )
    again = await reseal_signing_secrets(
        key_encryption_key=NEW_KEY, previous_key_encryption_keys=(OLD_KEY,)
    )

    assert (changed, again) == (1, 0)
    stored = await WebhookEndpoint.get(id=endpoint.id)
    assert signing_secret(stored, keys=(NEW_KEY,)) == value
    assert value not in stored.sealed_secret
    with pytest.raises(SealError):
        signing_secret(stored, keys=(OLD_KEY,))


async def test_a_secret_no_configured_key_opens_stops_the_reseal(db: Any) -> None:
    await endpoint_sealed_with(OLD_KEY)

    with pytest.raises(SealError):
        await reseal_signing_secrets(key_encryption_key=NEW_KEY, previous_key_encryption_keys=())
