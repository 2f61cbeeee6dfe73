"""What a token is tied to besides its credential: the secret it was obtained with or, for a
private_key_jwt credential, the key standing in that secret's place
(auth/partners/credential_directory.py keeps a credential's live ones)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from uuid import UUID

from models.credential import before_expiry

# Tokens obtained with a key carry, where a secret's id would be, an id derived from the key's
# RFC 7638 thumbprint (`key_secret_id`): removing the key from the set ends them, as rotating a
# secret away ends the tokens that secret obtained.
_KEY_NAMESPACE = uuid.UUID("6f1e7a52-3c1b-4d0e-9a57-17d2b8e0c417")


@dataclass(frozen=True)
class SecretState:
    id: UUID
    lookup_id: str
    secret_hash: str
    expires_at: datetime | None

    @cached_property
    def id_text(self) -> str:
        return str(self.id)

    def live_at(self, now: datetime) -> bool:
        # Ended secrets are never loaded, so expiry is all that is left to check.
        return before_expiry(self.expires_at, now)


def key_secret_id(credential_id: UUID, thumbprint: str) -> UUID:
    return uuid.uuid5(_KEY_NAMESPACE, f"{credential_id}:{thumbprint}")


def key_secret(secret_id: UUID) -> SecretState:
    """A key in the place of a secret: it never expires on its own and has no hash."""
    return SecretState(id=secret_id, lookup_id="", secret_hash="", expires_at=None)
