"""Token revocation (RFC 7009) and the revoked-token ids every process keeps in memory.

A revoked token's id stays in `RevokedToken` (and in each process's set, through the change feed)
until the token could no longer be accepted anyway: its `exp` plus the verification leeway.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from auth.partners import change_feed
from auth.partners.access_tokens import InvalidAccessToken, verify_access_token
from auth.partners.client_secrets import AuthenticatedClient
from auth.partners.signing_keys import VERIFICATION_LEEWAY, KeyRing
from models.audit import write_audit_event
from models.enums import ActorType, AuditAction
from models.oauth import ChangeKind, RevokedToken


async def load_revoked_tokens(now: datetime) -> dict[str, int]:
    """Ids of revoked tokens that could still be accepted, with their `exp` (Unix seconds)."""
    rows = await RevokedToken.filter(expires_at__gt=now - VERIFICATION_LEEWAY)
    return {row.jti: int(row.expires_at.timestamp()) for row in rows}


def still_relevant(revoked: dict[str, int], now: datetime) -> dict[str, int]:
    """`revoked` without the ids of tokens that can no longer be accepted anyway."""
    cutoff = int((now - VERIFICATION_LEEWAY).timestamp())
    return {jti: exp for jti, exp in revoked.items() if exp > cutoff}


async def delete_lapsed_revocations(now: datetime) -> None:
    await RevokedToken.filter(expires_at__lt=now - VERIFICATION_LEEWAY).delete()


async def revoke_token(
    token: str,
    client: AuthenticatedClient,
    *,
    key_ring: KeyRing,
    issuer: str,
    audience: str,
    revoked: dict[str, int],
    client_ip: str | None,
    now: datetime,
) -> None:
    """RFC 7009 §2.2: revoke the caller's own token, recording it in `revoked` too; anything
    else (not ours, another client's, already revoked or lapsed) is silently ignored."""
    try:
        claims = verify_access_token(
            token, key_ring=key_ring, issuer=issuer, audience=audience, verify_exp=False
        )
    except InvalidAccessToken:
        return
    credential = client.credential
    if claims.credential_id != credential.id or claims.jti in revoked:
        return
    expires_at = datetime.fromtimestamp(claims.expires_at, tz=now.tzinfo)
    # Still accepted within the verification leeway, so it must be revoked until then too.
    if expires_at + VERIFICATION_LEEWAY <= now:
        return
    async with in_transaction():
        _, created = await RevokedToken.get_or_create(
            jti=claims.jti,
            defaults={"credential_id": claims.credential_id, "expires_at": expires_at},
        )
        if created:
            await change_feed.publish(
                ChangeKind.TOKEN_REVOKED, jti=claims.jti, expires_at=expires_at
            )
            await write_audit_event(
                AuditAction.TOKEN_REVOKED,
                organisation_id=credential.organisation_id,
                actor_type=ActorType.CREDENTIAL,
                actor_label=credential.client_id,
                credential_id=credential.id,
                ip_address=client_ip,
                after={"jti": claims.jti},
            )
    revoked[claims.jti] = claims.expires_at
