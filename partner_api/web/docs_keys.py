"""The developer guide's section on key-pair credentials (private_key_jwt, RFC 7523 §2.2): make a
key pair, register its public JWK, and get tokens by signing a short-lived client assertion with
Authlib.

tests/test_docs_keys.py runs the key generation and the Authlib example unmodified against a live
server.
"""

from __future__ import annotations

from auth.partners.client_keys import ALLOWED_ALGORITHMS, MAX_KEYS, MIN_RSA_BITS
from partner_api.foundation.settings import Settings
from partner_api.web.docs_html import bullet_list, code_block, inline, paragraph, section

ANCHOR = "private-key-jwt"
TITLE = "Key-pair credentials (private_key_jwt)"
GENERATE = "Shell (openssl): an ES256 key pair"
PUBLIC_JWKS = "Python (joserfc): the public JWK Set to register"
AUTHLIB = "Python (Authlib): a token with private_key_jwt"
KID = "partner-2026-01"


def _generate() -> str:
    shell = """
# The private key stays with you; nothing but its public half is ever sent to us.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client-key.pem
chmod 600 client-key.pem
"""
    python = f"""
import json

from joserfc.jwk import ECKey  # installed with Authlib (pip install Authlib requests)

key = ECKey.import_key(open("client-key.pem").read())
public = {{**key.as_dict(private=False), "kid": "{KID}", "alg": "ES256", "use": "sig"}}
print(json.dumps({{"keys": [public]}}))
"""
    return (
        code_block(shell, label=GENERATE)
        + paragraph(
            "Print the public JWK Set and paste it into Settings → Organisation → Partner API → "
            "Create credentials → Key pair. It has `kty`, `crv`, `x`, `y` and your `kid`, and no "
            "`d`: a set with a private member is refused, so a private key is never stored here."
        )
        + code_block(python, label=PUBLIC_JWKS)
    )


def _authlib(settings: Settings) -> str:
    token_url, api = settings.token_endpoint, f"{settings.issuer}/partner/v1"
    python = f'''
import os

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import ECKey

CLIENT_ID = os.environ["CLIENT_ID"]
TOKEN_URL = "{token_url}"
API = "{api}"


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's assertions last an hour; this server accepts at most
    {settings.assertions.max_seconds} seconds, so sign each one for a minute."""

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            header=self.headers,
            expires_in=60,
        )


key = ECKey.import_key(open("client-key.pem").read())
session = OAuth2Session(
    CLIENT_ID,
    key,  # signs the assertion; it is never sent
    token_endpoint_auth_method=ShortLivedPrivateKeyJWT(
        TOKEN_URL, headers={{"kid": "{KID}"}}, alg="ES256"
    ),
)
session.fetch_token(TOKEN_URL, grant_type="client_credentials")
me = session.get(f"{{API}}/me", timeout=10)
me.raise_for_status()
print(me.json()["organisation"]["name"], me.json()["scopes"])
'''
    return code_block(python, label=AUTHLIB)


def key_pairs(settings: Settings) -> str:
    algorithms = ", ".join(f"`{alg}`" for alg in ALLOWED_ALGORITHMS)
    return section(
        ANCHOR,
        TITLE,
        paragraph(
            "A credential can authenticate with a key pair instead of a secret: you keep the "
            "private key, we hold only the public one, so nothing we store or show can be used "
            "to get a token. The client proves itself with a short-lived JWT it signs (a client "
            "assertion, RFC 7523 §2.2) sent with each token request:"
        )
        + bullet_list(
            inline(text)
            for text in (
                "`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` "
                "and `client_assertion=<the JWT>` in the token request body, and no secret.",
                "Claims: `iss` and `sub` your client ID, `aud` the token endpoint "
                f"(`{settings.token_endpoint}`) or the issuer, `exp` at most "
                f"{settings.assertions.max_seconds} seconds ahead, and a `jti` used once only: "
                "a replayed assertion is refused.",
                f"Algorithms: {algorithms} (RSA keys of at least {MIN_RSA_BITS} bits); never "
                f"`none` or HMAC. Header `kid`: one of your registered keys (at most {MAX_KEYS}).",
                "Rotation: add the new public key to the set (Edit keys on the credential), "
                "switch your client to it, then remove the old one. Or register a JWKS URI "
                "(https) that we fetch.",
                "Any failure is the same `401 invalid_client` as a wrong secret.",
            )
        )
        + _generate()
        + paragraph(
            "With the credential's client ID, Authlib's `PrivateKeyJWT` client authentication "
            "signs the assertion for every token request:"
        )
        + _authlib(settings),
    )
