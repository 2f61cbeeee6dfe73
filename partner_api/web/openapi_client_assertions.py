"""Client authentication in the OpenAPI document beyond secrets: the two private_key_jwt form
parameters (RFC 7523 §2.2) every OAuth endpoint takes in place of a secret, and the metadata
members naming each endpoint's authentication methods and assertion signing algorithms (RFC 8414
§2)."""

from __future__ import annotations

from auth.partners.client_assertions import JWT_BEARER, MAX_ASSERTION_LENGTH
from auth.partners.client_keys import ALLOWED_ALGORITHMS
from partner_api.web.openapi_schemas import JSON

_ALGORITHMS = ", ".join(f"`{alg}`" for alg in ALLOWED_ALGORITHMS)
ASSERTION_PARAMETERS: JSON = {
    "client_assertion_type": {
        "type": "string",
        "enum": [JWT_BEARER],
        "description": "With `private_key_jwt` only (RFC 7523 §2.2), together with "
        "`client_assertion`; never with HTTP Basic or `client_secret`.",
    },
    "client_assertion": {
        "type": "string",
        "maxLength": MAX_ASSERTION_LENGTH,
        "description": "With `private_key_jwt` only: a JWT signed with one of the credential's "
        f"registered keys ({_ALGORITHMS}, `kid` naming the key), with `iss` and `sub` the client "
        "ID, `aud` the issuer or the token endpoint URL, `exp` at most 5 minutes ahead by "
        "default, and a `jti` used once. Any failure is `invalid_client`.",
    },
}
_ENDPOINTS = ("token", "introspection", "revocation")
# Each endpoint's authentication methods and, for private_key_jwt, the algorithms it accepts.
AUTHENTICATION_METADATA_MEMBERS: JSON = {
    **{
        f"{endpoint}_endpoint_auth_methods_supported": {
            "type": "array",
            "items": {"type": "string"},
        }
        for endpoint in _ENDPOINTS
    },
    **{
        f"{endpoint}_endpoint_auth_signing_alg_values_supported": {
            "type": "array",
            "items": {"type": "string", "enum": list(ALLOWED_ALGORITHMS)},
        }
        for endpoint in _ENDPOINTS
    },
}
