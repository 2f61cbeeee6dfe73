"""GQ-13: every admin text input refuses control and invisible formatting characters at its field.

Each bad character is one of the refused kinds: NUL (PostgreSQL cannot store it), DEL and a C1
control (NEL, which `str.strip` would silently drop), a bidirectional override, a zero-width space
and a byte-order mark (invisible, so a name could spoof another in the list or the audit trail).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from partner_api.foundation.validation import invisible_character
from tests.helpers import PASSWORD, admin_token, create_via_graphql, gql, operation

BAD_CHARACTERS = {
    "nul": "\x00",
    "del": "\x7f",
    "nel": "\x85",
    "rlo": "\u202e",
    "zwsp": "\u200b",
    "bom": "\ufeff",
}
BAD = pytest.mark.parametrize("char", list(BAD_CHARACTERS.values()), ids=list(BAD_CHARACTERS))

# Each text input of create/update, with a valid value carrying the bad character; the extra
# fields make the rest of the input valid, so the character is the only thing wrong.
TEXT_INPUTS: dict[str, tuple[Any, dict[str, Any]]] = {
    "name": ("Box{}office", {}),
    "contactEmail": ("it@box{}office.example", {}),
    "scopes": (["events:{}read"], {"accessLevel": "FINE_GRAINED"}),
    "ipAllowlist": (["203.0.113.0/24{}"], {}),
}
INPUTS = pytest.mark.parametrize("field", list(TEXT_INPUTS))

ADMIN_EMAIL = "admin@acme.example"


def _with(field: str, char: str) -> dict[str, Any]:
    template, extra = TEXT_INPUTS[field]
    value = (
        [entry.format(char) for entry in template]
        if isinstance(template, list)
        else template.format(char)
    )
    return {field: value, **extra}


def _assert_refused(result: dict[str, Any], field: str, char: str) -> None:
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    # The message names the code point instead of echoing a character that would not show.
    assert f"U+{ord(char):04X}" in result["message"]
    assert char not in result["message"]


async def _credential_names(client: httpx.AsyncClient, token: str) -> list[str]:
    body = await gql(client, operation("Credentials"), {"first": 50}, token=token)
    assert "errors" not in body, body
    return [edge["node"]["name"] for edge in body["data"]["credentials"]["edges"]]


async def _credential(client: httpx.AsyncClient, token: str, credential_id: str) -> dict[str, Any]:
    body = await gql(client, operation("Credential"), {"id": credential_id}, token=token)
    assert "errors" not in body, body
    credential: dict[str, Any] = body["data"]["credential"]
    return credential


async def _existing(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    result = await create_via_graphql(
        client,
        token,
        name="Original name",
        contactEmail="ops@partner.example",
        accessLevel="FINE_GRAINED",
        scopes=["orders:read"],
        ipAllowlist=["198.51.100.7"],
    )
    assert result["__typename"] == "CredentialCreated", result
    credential: dict[str, Any] = result["credential"]
    return credential


@INPUTS
@BAD
async def test_gq13_create_refuses_invisible_characters_at_the_field_and_stores_nothing(
    client: httpx.AsyncClient, field: str, char: str
) -> None:
    token = await admin_token(client)

    result = await create_via_graphql(client, token, **_with(field, char))

    _assert_refused(result, field, char)
    assert await _credential_names(client, token) == []


@INPUTS
@BAD
async def test_gq13_update_refuses_invisible_characters_at_the_field_and_changes_nothing(
    client: httpx.AsyncClient, field: str, char: str
) -> None:
    token = await admin_token(client)
    before = await _existing(client, token)

    body = await gql(
        client,
        operation("UpdateCredential"),
        {"input": {"id": before["id"], **_with(field, char)}},
        token=token,
    )

    assert "errors" not in body, body
    _assert_refused(body["data"]["updateCredential"], field, char)
    after = await _credential(client, token, before["id"])
    for key in ("name", "contactEmail", "accessLevel", "scopes", "ipAllowlist"):
        assert after[key] == before[key]


@BAD
async def test_gq13_revoke_reason_with_invisible_characters_is_refused_and_revokes_nothing(
    client: httpx.AsyncClient, char: str
) -> None:
    token = await admin_token(client)
    credential = await _existing(client, token)

    body = await gql(
        client,
        operation("RevokeCredential"),
        {"input": {"id": credential["id"], "reason": f"Contract{char} ended"}},
        token=token,
    )

    assert "errors" not in body, body
    _assert_refused(body["data"]["revokeCredential"], "reason", char)
    after = await _credential(client, token, credential["id"])
    assert after["status"] == "ACTIVE"
    assert after["revocationReason"] is None


@BAD
async def test_gq13_login_email_with_invisible_characters_is_an_ordinary_failed_login(
    client: httpx.AsyncClient, char: str
) -> None:
    """The admin's own e-mail plus one refused character, with the right password: no account
    has that address, so it is the same InvalidLogin as a wrong password, never an error."""
    await admin_token(client, email=ADMIN_EMAIL)
    wrong = await gql(client, operation("Login"), {"email": ADMIN_EMAIL, "password": "wrong"})

    body = await gql(
        client, operation("Login"), {"email": ADMIN_EMAIL + char, "password": PASSWORD}
    )

    assert "errors" not in body, body
    assert body["data"]["login"] == wrong["data"]["login"]
    assert body["data"]["login"]["__typename"] == "InvalidLogin"


@pytest.mark.parametrize("name", ["Zoë's box office", "東京 チケット連携", "Café & Kasse № 2"])
async def test_gq13_printable_non_ascii_names_and_spaces_are_accepted(
    client: httpx.AsyncClient, name: str
) -> None:
    token = await admin_token(client)

    created = await create_via_graphql(client, token, name=name, contactEmail="zoë@partner.example")
    assert created["__typename"] == "CredentialCreated", created
    renamed = f"{name} (neu)"
    body = await gql(
        client,
        operation("UpdateCredential"),
        {"input": {"id": created["credential"]["id"], "name": renamed}},
        token=token,
    )

    assert body["data"]["updateCredential"]["__typename"] == "CredentialUpdated", body
    assert await _credential_names(client, token) == [renamed]


@pytest.mark.parametrize(
    "char",
    [
        "\t", "\n", "\x1f", "\x9f",  # Cc
        "\u00ad", "\u061c", "\u200d", "\u200e", "\u202a", "\u2066", "\u2069", "\u2060",  # Cf
        "\ud800", "\ue000",  # Cs, Co
        "\u2028", "\u2029",  # Zl, Zp
    ],
)  # fmt: skip
def test_gq13_refused_set_covers_controls_formats_surrogates_private_use_and_separators(
    char: str,
) -> None:
    assert invisible_character(f"ab{char}cd") == char


@pytest.mark.parametrize("text", ["Zoë", "東京", "a b", "no\u00a0break", "e\u0301", "👍", ""])
def test_gq13_spaces_letters_marks_and_symbols_are_not_refused(text: str) -> None:
    assert invisible_character(text) is None
