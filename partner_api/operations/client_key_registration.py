"""The public keys a PRIVATE_KEY_JWT credential registers (RFC 7523 §2.2): a pasted JWK Set
(`jwks`) or the URL of one (`jwksUri`), validated, and written as CredentialKey rows.

Every check of a key set is `auth.partners.client_keys.parse_public_jwks`, the parser the token
endpoint uses for fetched sets too, so what an admin may register and what the server accepts are
one rule. Its messages name a key's position, never its material, so a refused set (a private
member, PK-02) is not echoed back; only the parsed public members are stored or audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from auth.partners.client_keys import JwksRejected, PublicKey, parse_public_jwks
from models.credential import Credential, CredentialKey
from models.enums import ClientAuthMethod
from partner_api.foundation.outbound_policy import OutboundPolicy, OutboundRefused, check_url
from partner_api.foundation.validation import InvalidInput, refuse_invisible

# One message whoever holds the key: saying which credential or organisation would leak it.
KEY_TAKEN = (
    "A key in this set is already registered for another credential; "
    "give each credential its own key pair."
)
NOT_A_KEY_CREDENTIAL = "This credential authenticates with a client secret; it has no keys."


@dataclass(frozen=True)
class KeyRegistration:
    """A validated key source: exactly one of `keys` (from a pasted set) or `jwks_uri`."""

    keys: list[PublicKey] | None = None
    jwks_uri: str | None = None

    @property
    def jwks(self) -> dict[str, object] | None:
        """The set as stored: the public members the parser kept, never the pasted document."""
        if self.keys is None:
            return None
        return {"keys": [dict(key.jwk) for key in self.keys]}

    def columns(self) -> dict[str, Any]:
        """The credential's columns for this key source."""
        return {
            "auth_method": ClientAuthMethod.PRIVATE_KEY_JWT,
            "jwks": self.jwks,
            "jwks_uri": self.jwks_uri,
        }


def clean_jwks(document: object) -> list[PublicKey]:
    try:
        return parse_public_jwks(document)
    except JwksRejected as rejected:
        raise InvalidInput("jwks", str(rejected)) from None


def clean_jwks_uri(value: str, policy: OutboundPolicy) -> str:
    """The webhook URL rules (SECURITY-PLANNED.md WH-03): https to a public address in
    production, no user info; the address is checked again when the set is fetched."""
    refuse_invisible("jwksUri", value, label="JWKS URI")
    try:
        return check_url(value.strip(), policy)
    except OutboundRefused as refused:
        raise InvalidInput(
            "jwksUri", refused.reason[:1].upper() + refused.reason[1:] + "."
        ) from None


def clean_registration(
    auth_method: ClientAuthMethod,
    jwks: object | None,
    jwks_uri: str | None,
    policy: OutboundPolicy,
) -> KeyRegistration | None:
    """The key source of a new credential: exactly one for PRIVATE_KEY_JWT, none for
    CLIENT_SECRET (None)."""
    if auth_method is ClientAuthMethod.CLIENT_SECRET:
        if jwks is not None:
            raise InvalidInput("jwks", "A client-secret credential takes no key set.")
        if jwks_uri is not None:
            raise InvalidInput("jwksUri", "A client-secret credential takes no JWKS URI.")
        return None
    return clean_replacement(jwks, jwks_uri, policy)


def clean_replacement(
    jwks: object | None, jwks_uri: str | None, policy: OutboundPolicy
) -> KeyRegistration:
    if jwks is not None and jwks_uri is not None:
        raise InvalidInput("jwksUri", "Give either a key set or a JWKS URI, not both.")
    if jwks is not None:
        return KeyRegistration(keys=clean_jwks(jwks))
    if jwks_uri is not None:
        return KeyRegistration(jwks_uri=clean_jwks_uri(jwks_uri, policy))
    raise InvalidInput("jwks", "Paste the public key set (JWKS) or give a JWKS URI.")


async def refuse_keys_of_other_credentials(
    keys: list[PublicKey], credential_id: UUID | None
) -> None:
    """PK-02: one key pair authenticates one credential, across every organisation, so an
    assertion never names a client it was not made for. Call inside the writing transaction."""
    taken = CredentialKey.filter(thumbprint__in=[key.thumbprint for key in keys])
    if credential_id is not None:
        taken = taken.exclude(credential_id=credential_id)
    if await taken.exists():
        raise InvalidInput("jwks", KEY_TAKEN)


async def write_keys(credential: Credential, registration: KeyRegistration) -> None:
    """Replace the credential's key rows with `registration`'s. A key that stays (same kid and
    same thumbprint) keeps its row and so its `last_used_at`; rows of a previous URI go, since
    the token endpoint adds a row per key of the new URI as it uses it. Call inside the writing
    transaction: a key of another credential refuses the whole change."""
    await refuse_keys_of_other_credentials(list(registration.keys or ()), credential.id)
    wanted = {key.kid: key for key in registration.keys or ()}
    existing = await CredentialKey.filter(credential=credential)
    stale = [
        row.id
        for row in existing
        if row.kid not in wanted or row.thumbprint != wanted[row.kid].thumbprint or row.from_uri
    ]
    if stale:
        await CredentialKey.filter(id__in=stale).delete()
    kept = {row.kid for row in existing if row.id not in stale}
    for key in wanted.values():
        if key.kid in kept:
            continue
        await CredentialKey.create(
            credential=credential,
            kid=key.kid,
            alg=key.alg,
            jwk=dict(key.jwk),
            thumbprint=key.thumbprint,
            from_uri=False,
        )


async def register_keys(credential: Credential, registration: KeyRegistration) -> dict[str, Any]:
    """Write a new credential's keys; what its creation's audit event adds about them."""
    await write_keys(credential, registration)
    return {
        "authMethod": ClientAuthMethod.PRIVATE_KEY_JWT.value,
        "jwksUri": registration.jwks_uri,
        "keys": key_summary(registration.keys or []),
    }


def key_summary(keys: list[PublicKey] | list[CredentialKey]) -> list[dict[str, Any]]:
    """What the audit trail records of a key: never its material."""
    return sorted(
        ({"kid": key.kid, "alg": key.alg, "thumbprint": key.thumbprint} for key in keys),
        key=lambda item: item["kid"],
    )
