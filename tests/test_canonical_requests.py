"""RS-11: one request names one caller, and one access token has one accepted string form.

Two `Authorization` headers are refused (400) wherever a caller is identified — the Partner API
with RFC 6750 §3 `invalid_request`, `POST /graphql` with a GraphQL-shaped error — never answered
for whichever comes first. An access token whose segments are not canonical base64url (padding,
`+`/`/` for `-`/`_`, non-zero unused bits in the last character) decodes to the same signature
under a lenient decoder; it is refused at the Partner API, inactive at introspection and ignored
by revocation, while the token as issued keeps working.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest

from auth.partners.jws import b64url, is_canonical_compact
from tests.helpers import Partner, admin_token, create_via_graphql, operation

ME = "/partner/v1/me"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


async def new_partner(client: httpx.AsyncClient) -> Partner:
    created = await create_via_graphql(client, await admin_token(client))
    assert created["__typename"] == "CredentialCreated", created
    return Partner(created["credential"]["clientId"], created["clientSecret"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def lenient_decode(segment: str) -> bytes:
    """What a lenient base64url decoder makes of a segment (PyJWT's own decoding)."""
    text = segment.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def with_signature(token: str, change: Callable[[str], str]) -> str:
    signing_input, _, signature = token.rpartition(".")
    variant = change(signature)
    assert variant != signature
    # The same signature bytes, so only the string form can tell the two apart.
    assert lenient_decode(variant) == lenient_decode(signature)
    return f"{signing_input}.{variant}"


def trailing_bits(signature: str) -> str:
    # 64- and 256-byte signatures leave 4 bits of the last character unused; flip the lowest.
    assert (6 * len(signature)) % 8 == 4, len(signature)
    return signature[:-1] + ALPHABET[ALPHABET.index(signature[-1]) ^ 1]


def padded(signature: str) -> str:
    return signature + "=" * (-len(signature) % 4)


def standard_alphabet(signature: str) -> str:
    return signature.replace("-", "+").replace("_", "/")


VARIANTS = {
    "trailing-bits": trailing_bits,
    "padded": padded,
    "standard-alphabet": standard_alphabet,
}


async def token_with_url_safe_characters(client: httpx.AsyncClient, partner: Partner) -> str:
    """A token whose signature holds a `-` or `_` (about 15 in 16 do), so that every variant
    exists for it."""
    for _ in range(50):
        token = await partner.token(client)
        signature = token.rpartition(".")[2]
        if "-" in signature or "_" in signature:
            return token
    raise AssertionError("no signature with - or _ in 50 tokens")


def assert_invalid_request(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer "), challenge
    assert 'error="invalid_request"' in challenge, challenge
    body = response.json()
    assert body["error"] == "invalid_request", body
    assert "Authorization" in body["error_description"], body
    assert response.headers["cache-control"] == "no-store"


# -- one Authorization header ------------------------------------------------------------------


async def test_rs11_repeated_authorization_header_at_the_partner_api_is_400_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    partner = await new_partner(client)
    token = await partner.token(client)
    assert (await client.get(ME, headers=bearer(token))).status_code == 200

    valid, other = f"Bearer {token}", "Bearer not-a-token"
    for headers in ([valid, other], [other, valid], [valid, valid]):
        response = await client.get(ME, headers=[("Authorization", value) for value in headers])
        assert_invalid_request(response)


async def test_rs11_repeated_authorization_header_on_graphql_is_400_bad_request(
    client: httpx.AsyncClient,
) -> None:
    session = await admin_token(client)
    document = {"query": operation("Viewer")}
    alone = await client.post("/graphql", json=document, headers=bearer(session))
    assert alone.json()["data"]["viewer"]["user"]["email"] == "admin@acme.example"

    for second in (f"Bearer {session}", "Bearer pas_someone-else"):
        response = await client.post(
            "/graphql",
            json=document,
            headers=[("Authorization", f"Bearer {session}"), ("Authorization", second)],
        )
        assert response.status_code == 400, response.text
        body = response.json()
        assert set(body) == {"errors"}, body
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_REQUEST"}, body
        assert "Authorization" in error["message"], body


# -- one string form per token -----------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
async def test_rs11_non_canonical_signature_is_refused_at_the_partner_api(
    client: httpx.AsyncClient, variant: str
) -> None:
    partner = await new_partner(client)
    token = await token_with_url_safe_characters(client, partner)
    # The original first, so that its verified claims are cached: the variant must not reach them.
    assert (await client.get(ME, headers=bearer(token))).status_code == 200

    response = await client.get(ME, headers=bearer(with_signature(token, VARIANTS[variant])))

    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["error"] == "invalid_token"
    assert (await client.get(ME, headers=bearer(token))).status_code == 200


@pytest.mark.parametrize("variant", list(VARIANTS))
async def test_rs11_non_canonical_signature_is_inactive_at_introspection(
    client: httpx.AsyncClient, variant: str
) -> None:
    partner = await new_partner(client)
    token = await token_with_url_safe_characters(client, partner)
    assert (await partner.introspect(client, token))["active"] is True

    variant_token = with_signature(token, VARIANTS[variant])

    assert await partner.introspect(client, variant_token) == {"active": False}
    assert (await partner.introspect(client, token))["active"] is True


async def test_rs11_revoking_a_non_canonical_form_leaves_the_token_working(
    client: httpx.AsyncClient,
) -> None:
    partner = await new_partner(client)
    token = await partner.token(client)

    response = await client.post(
        "/oauth/revoke",
        data={"token": with_signature(token, padded)},
        auth=(partner.client_id, partner.secret),
    )

    assert response.status_code == 200  # RFC 7009 §2.2: an unknown token is not an error
    assert (await client.get(ME, headers=bearer(token))).status_code == 200
    assert (await partner.introspect(client, token))["active"] is True


def test_rs11_each_byte_string_has_exactly_one_accepted_segment() -> None:
    """The check itself, for every segment length (4n, 4n+2, 4n+3) and every last character: of
    all the strings a lenient decoder maps to the same bytes, only `b64url`'s is accepted."""
    header, claims = b64url(b'{"alg":"ES256"}').decode(), b64url(b'{"sub":"x"}').decode()
    for data in (b"", b"\x00", b"\xff", b"\x01\x02", b"\xfe\xff", b"abc", b"\xff" * 64):
        canonical = b64url(data).decode()
        assert is_canonical_compact(f"{header}.{claims}.{canonical}", max_length=8192)
        others = {canonical[:-1] + char for char in ALPHABET} if canonical else set()
        others |= {padded(canonical), canonical + "=" * 4, standard_alphabet(canonical)}
        for other in others - {canonical}:
            if lenient_decode(other) != data:
                continue  # a different signature, not another form of this one
            assert not is_canonical_compact(f"{header}.{claims}.{other}", max_length=8192), other
    token = f"{header}.{claims}.{b64url(b'x' * 64).decode()}"
    assert not is_canonical_compact(token, max_length=len(token) - 1)
    assert not is_canonical_compact(f"{header}.{claims}", max_length=8192)
