"""The OAuth 2.0 endpoints (RFC 6749, 7662, 7009, 8414, 7517) and the documentation pages as
OpenAPI path items, with the OAuth messages' schemas; partner_api/web/openapi.py assembles the
document.

The OAuth forms stay open to unknown parameters: RFC 6749 §3.2 says a server ignores them.
"""

from __future__ import annotations

from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.openapi_client_assertions import (
    ASSERTION_PARAMETERS,
    AUTHENTICATION_METADATA_MEMBERS,
)
from partner_api.web.openapi_responses import PUBLIC_CACHE, oauth_errors, oauth_success
from partner_api.web.openapi_restrictions import (
    INTROSPECTION_MEMBER,
    METADATA_MEMBER,
    TOKEN_REQUEST_PARAMETER,
    TOKEN_RESPONSE_MEMBER,
    authorization_detail_schemas,
)
from partner_api.web.openapi_schemas import JSON, UUID, object_schema, ref

BASIC_SCHEME = "clientBasic"
# HTTP Basic, or (the empty requirement) a client secret or a client assertion in the form body.
CLIENT_AUTHENTICATION: list[JSON] = [{BASIC_SCHEME: []}, {}]
OAUTH_ERROR_CODES = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_authorization_details",
    "unsupported_token_type",
    "temporarily_unavailable",
    "server_error",
]
CLIENT_ID: JSON = {
    "type": "string",
    "pattern": "^pcl_[0-9A-Za-z]{22}$",
    "description": "`pcl_` and 22 base62 characters. Not secret.",
}
CLIENT_SECRET: JSON = {
    "type": "string",
    "pattern": "^pcs_[0-9A-Za-z]{61}$",
    "description": "`pcs_` and 61 base62 characters, shown once when created or regenerated.",
}


def scope_list_pattern() -> str:
    """A space-separated list of catalogue scopes (RFC 6749 §3.3), for the `scope` parameter."""
    names = "|".join(scope.name for scope in CATALOGUE)
    return f"^({names})( ({names}))*$"


def oauth_schemas() -> JSON:
    client_auth: JSON = {
        "client_id": {
            **CLIENT_ID,
            "description": "With `client_secret_post`; optional with `private_key_jwt`.",
        },
        "client_secret": {**CLIENT_SECRET, "description": "With `client_secret_post` only."},
        **ASSERTION_PARAMETERS,
    }
    token_parameter: JSON = {"type": "string", "minLength": 1, "description": "The access token."}
    key_member: JSON = {"type": "string"}
    return {
        "OAuthError": object_schema(
            {
                "error": {"type": "string", "enum": OAUTH_ERROR_CODES},
                "error_description": {
                    "type": "string",
                    "pattern": "^[\\x20-\\x21\\x23-\\x5B\\x5D-\\x7E]*$",
                },
            },
            required=["error"],
        ),
        "TokenRequest": object_schema(
            {
                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                "scope": {
                    "type": "string",
                    "pattern": scope_list_pattern(),
                    "description": "Space-separated; omit it to get every scope the credential "
                    "holds. It can narrow, never widen.",
                },
                "authorization_details": TOKEN_REQUEST_PARAMETER,
                **client_auth,
            },
            required=["grant_type"],
        ),
        "TokenResponse": object_schema(
            {
                "access_token": {"type": "string", "description": "A JWT (RFC 9068)."},
                "token_type": {"type": "string", "enum": ["Bearer"]},
                "expires_in": {"type": "integer", "minimum": 0, "description": "Seconds."},
                "scope": {"type": "string", "description": "The granted scopes."},
                "authorization_details": TOKEN_RESPONSE_MEMBER,
            },
            required=["access_token", "token_type", "expires_in", "scope"],
        ),
        "IntrospectionRequest": object_schema(
            {
                "token": token_parameter,
                "token_type_hint": {"type": "string"},
                **client_auth,
            },
            required=["token"],
        ),
        "IntrospectionResponse": object_schema(
            {
                "active": {"type": "boolean"},
                "scope": {"type": "string"},
                "client_id": {"type": "string"},
                "token_type": {"type": "string", "enum": ["Bearer"]},
                "exp": {"type": "integer"},
                "iat": {"type": "integer"},
                "sub": {"type": "string"},
                "aud": {"type": ["string", "array"], "items": {"type": "string"}},
                "iss": {"type": "string"},
                "jti": {"type": "string"},
                "organisation_id": UUID,
                "authorization_details": INTROSPECTION_MEMBER,
            },
            required=["active"],
        ),
        "RevocationRequest": object_schema(
            {"token": token_parameter, "token_type_hint": {"type": "string"}, **client_auth},
            required=["token"],
        ),
        "ServerMetadata": object_schema(
            {
                "issuer": {"type": "string", "format": "uri"},
                "token_endpoint": {"type": "string", "format": "uri"},
                "jwks_uri": {"type": "string", "format": "uri"},
                "introspection_endpoint": {"type": "string", "format": "uri"},
                "revocation_endpoint": {"type": "string", "format": "uri"},
                "grant_types_supported": {"type": "array", "items": {"type": "string"}},
                "response_types_supported": {"type": "array", "items": {"type": "string"}},
                **AUTHENTICATION_METADATA_MEMBERS,
                "scopes_supported": {"type": "array", "items": {"type": "string"}},
                "authorization_details_types_supported": METADATA_MEMBER,
                "service_documentation": {"type": "string", "format": "uri"},
            },
            required=["issuer", "token_endpoint", "jwks_uri", "grant_types_supported"],
        ),
        # Closed on purpose: a JWK here may only carry public members (SECURITY.md MD-05).
        "JsonWebKey": object_schema(
            {
                "kty": {"type": "string", "enum": ["EC", "OKP", "RSA"]},
                "kid": key_member,
                "alg": {"type": "string", "enum": ["ES256", "EdDSA", "RS256"]},
                "use": {"type": "string", "enum": ["sig"]},
                "crv": key_member,
                "x": key_member,
                "y": key_member,
                "n": key_member,
                "e": key_member,
            },
            required=["kty", "kid", "alg", "use"],
            closed=True,
        ),
        "JsonWebKeySet": object_schema({"keys": {"type": "array", "items": ref("JsonWebKey")}}),
        **authorization_detail_schemas(),
    }


def _form(schema: str) -> JSON:
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": ref(schema)}},
    }


def oauth_paths(settings: Settings) -> JSON:
    ttl = settings.access_token_ttl_seconds
    public = {"Cache-Control": PUBLIC_CACHE}
    return {
        "/oauth/token": {
            "post": {
                "operationId": "requestToken",
                "tags": ["OAuth 2.0"],
                "summary": "Get an access token",
                "description": "RFC 6749 §4.4 client credentials grant. Authenticate with HTTP "
                "Basic (`client_secret_basic`), with `client_id` and `client_secret` in the "
                "body (`client_secret_post`), or, for a credential with keys, with a signed "
                "`client_assertion` (`private_key_jwt`, RFC 7523); only one of them. "
                f"Tokens live {ttl} seconds; there are "
                "no refresh tokens. Parameters in the URL query and repeated parameters are "
                "refused. `authorization_details` (RFC 9396) narrows the token to some events.",
                "security": CLIENT_AUTHENTICATION,
                "requestBody": _form("TokenRequest"),
                "responses": {
                    "200": oauth_success("RFC 6749 §5.1: the access token.", "TokenResponse"),
                    **oauth_errors(
                        [
                            "invalid_request",
                            "unsupported_grant_type",
                            "invalid_scope",
                            "invalid_authorization_details",
                        ]
                    ),
                },
            }
        },
        "/oauth/introspect": {
            "post": {
                "operationId": "introspectToken",
                "tags": ["OAuth 2.0"],
                "summary": "Introspect a token",
                "description": "RFC 7662. Only about your own tokens: anything else, and any "
                'expired or revoked token, is `{"active": false}`. A token limited to events '
                "shows them in `authorization_details`.",
                "security": CLIENT_AUTHENTICATION,
                "requestBody": _form("IntrospectionRequest"),
                "responses": {
                    "200": oauth_success("RFC 7662 §2.2.", "IntrospectionResponse"),
                    **oauth_errors(["invalid_request"]),
                },
            }
        },
        "/oauth/revoke": {
            "post": {
                "operationId": "revokeToken",
                "tags": ["OAuth 2.0"],
                "summary": "Revoke a token",
                "description": "RFC 7009. Always 200 once you are authenticated: unknown tokens "
                "and other clients' tokens are left alone. A revoked token fails at once.",
                "security": CLIENT_AUTHENTICATION,
                "requestBody": _form("RevocationRequest"),
                "responses": {
                    "200": oauth_success("Revoked, or nothing to revoke. Empty body.", None),
                    **oauth_errors(["invalid_request"]),
                },
            }
        },
        "/.well-known/oauth-authorization-server": {
            "get": {
                "operationId": "getServerMetadata",
                "tags": ["OAuth 2.0"],
                "summary": "Authorization server metadata",
                "description": "RFC 8414: issuer, endpoints, authentication methods and their "
                "signing algorithms, scopes, authorization details types.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The metadata.",
                        "headers": public,
                        "content": {"application/json": {"schema": ref("ServerMetadata")}},
                    }
                },
            }
        },
        "/.well-known/jwks.json": {
            "get": {
                "operationId": "getJwks",
                "tags": ["OAuth 2.0"],
                "summary": "Token signing keys",
                "description": "RFC 7517: the public keys of every token that may still be valid.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The key set.",
                        "headers": {"Cache-Control": PUBLIC_CACHE},
                        "content": {"application/json": {"schema": ref("JsonWebKeySet")}},
                    }
                },
            }
        },
    }


def documentation_paths() -> JSON:
    def page(operation_id: str, summary: str, media_type: str, schema: JSON) -> JSON:
        return {
            "get": {
                "operationId": operation_id,
                "tags": ["Documentation"],
                "summary": summary,
                "security": [],
                "responses": {
                    "200": {
                        "description": summary + ".",
                        "headers": {"Cache-Control": PUBLIC_CACHE},
                        "content": {media_type: {"schema": schema}},
                    }
                },
            }
        }

    return {
        "/openapi.json": page(
            "getOpenApiDocument", "This OpenAPI document", "application/json", {"type": "object"}
        ),
        "/docs": page("getDocumentation", "The developer guide", "text/html", {"type": "string"}),
    }
