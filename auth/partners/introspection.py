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
    raw = claims.raw
    scopes = sorted(claims.scopes, key=list(raw["scope"].split()).index)
    response: dict[str, object] = {
        "active": True,
        "scope": " ".join(scopes),
        "client_id": claims.client_id,
        "token_type": "Bearer",
        "exp": raw["exp"],
        "iat": raw["iat"],
        "sub": raw["sub"],
        "aud": raw["aud"],
        "iss": raw["iss"],
        "jti": raw["jti"],
        "organisation_id": raw["organisation_id"],
    }
    event_ids = effective_event_ids(claims)
    if event_ids is not None:
        # RFC 9396 §9.2: what the token may do now, narrowed like its scope.
        response["authorization_details"] = details(scopes, event_ids)
    return response
