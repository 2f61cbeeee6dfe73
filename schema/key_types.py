"""The public keys of a PRIVATE_KEY_JWT credential as the admin API shows them: which keys, and
when each was last used. Never the key material."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.credential import CredentialKey as CredentialKeyModel


@strawberry.type(description="A public key a PRIVATE_KEY_JWT credential signs assertions with.")
class CredentialKey:
    kid: str
    alg: str
    last_used_at: datetime | None = strawberry.field(
        description=(
            "When a client assertion signed with this key was last accepted. Keys served by "
            "a jwksUri are listed once used."
        )
    )

    @classmethod
    def from_model(cls, key: CredentialKeyModel) -> CredentialKey:
        return cls(kid=key.kid, alg=key.alg, last_used_at=key.last_used_at)
