"""Token introspection (RFC 7662): what the authorization server tells a client about a token."""

from __future__ import annotations

from datetime import datetime

from auth.partners.access_tokens import AccessTokenClaims, effective_event_ids
from auth.partners.authorization_details import details
from auth.partners.client_secrets import AuthenticatedClient


def introspection_response(
    claims: AccessTokenClaims | None, client: AuthenticatedClient, *, now: datetime
) -> dict[str, object]:
    """RFC 7662 §2.2 for a token whose `claims` are valid now (None otherwise): details only for
    the caller's own token (IN-01..04), anything else is just inactive."""
    if claims is None or claims.credential_id != client.credential.id:
        return {"active": False}
    # The verification leeway is for other servers' clocks; the issuer knows the exact time.
    if claims.expires_at <= int(now.timestamp()):
        return {"active": False}
    scopes = sorted(claims.scopes, key=claims.scope.split().index)
    response: dict[str, object] = {
        "active": True,
        "scope": " ".join(scopes),
        "client_id": claims.client_id,
        "token_type": "Bearer",
        "exp": claims.expires_at,
        "iat": claims.issued_at,
        "sub": claims.subject,
        # Verification required exactly these (RFC 9068 §4), so they are the token's own.
        "aud": claims.audience,
        "iss": claims.issuer,
        "jti": claims.jti,
        "organisation_id": str(claims.organisation_id),
    }
    event_ids = effective_event_ids(claims)
    if event_ids is not None:
        # RFC 9396 §9.2: what the token may do now, narrowed like its scope.
        response["authorization_details"] = details(scopes, event_ids)
    return response
