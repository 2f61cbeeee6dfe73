"""Key-pair credentials (private_key_jwt, RFC 7523 §2.2) in the admin API: creating one with a
JWK Set or a JWKS URI, the refusals (PK-02, WH-03), no secret to regenerate, rotating keys with
`updateCredential`, roles and tenant isolation."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from tortoise.context import TortoiseContext

from models.audit import AuditEvent
from models.credential import Credential, CredentialKey, CredentialSecret
from models.enums import AuditAction, Role
from models.oauth import ChangeEvent, ChangeKind
from partner_api.foundation.settings import Settings
from tests.helpers import admin_token, create_via_graphql, gql, login, make_admin, operation
from tests.test_webhook_endpoint_inputs import production_client

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def ec_jwk(kid: str = "key-1") -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh P-256 key as (public JWK, private JWK)."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_jwk = json.loads(ECAlgorithm.to_jwk(private))
    public_jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    for jwk in (private_jwk, public_jwk):
        jwk.update(kid=kid, alg="ES256", use="sig")
    return public_jwk, private_jwk


def rsa_jwk(kid: str, bits: int) -> dict[str, Any]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update(kid=kid, alg="RS256")
    return jwk


def jwks(*keys: dict[str, Any]) -> dict[str, Any]:
    return {"keys": list(keys)}


async def create_key_credential(
    client: httpx.AsyncClient, token: str, **overrides: Any
) -> dict[str, Any]:
    return await create_via_graphql(client, token, authMethod="PRIVATE_KEY_JWT", **overrides)


async def update(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await gql(client, operation("UpdateCredential"), {"input": fields}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateCredential"]
    return result


async def assert_nothing_created() -> None:
    assert await Credential.all().count() == 0
    assert await CredentialKey.all().count() == 0
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_CREATED).count() == 0


async def audit_text() -> str:
    return json.dumps([[event.before, event.after] for event in await AuditEvent.all()])


# --- create -------------------------------------------------------------------------------------


async def test_create_with_jwks_makes_no_secret_and_stores_public_keys(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    public, _ = ec_jwk("ops-2026")

    result = await create_key_credential(client, token, jwks=jwks(public))

    assert result["__typename"] == "KeyCredentialCreated", result
    assert "clientSecret" not in result
    node = result["credential"]
    assert node["authMethod"] == "PRIVATE_KEY_JWT"
    assert node["jwksUri"] is None
    assert node["secrets"] == []
    assert node["keys"] == [{"kid": "ops-2026", "alg": "ES256", "lastUsedAt": None}]
    row = await Credential.get(id=node["id"])
    assert row.jwks == {"keys": [public]}
    assert await CredentialSecret.filter(credential=row).count() == 0
    [key] = await CredentialKey.filter(credential=row)
    assert (key.kid, key.alg, key.from_uri) == ("ops-2026", "ES256", False)
    assert key.jwk == public
    assert len(key.thumbprint) == 43
    [event] = await AuditEvent.filter(action=AuditAction.CREDENTIAL_CREATED)
    assert event.after is not None
    assert event.after["authMethod"] == "PRIVATE_KEY_JWT"
    assert event.after["keys"] == [
        {"kid": "ops-2026", "alg": "ES256", "thumbprint": key.thumbprint}
    ]


async def test_create_with_jwks_uri_stores_the_uri_and_no_keys_yet(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    uri = "https://keys.partner.example/.well-known/jwks.json"

    result = await create_key_credential(client, token, jwksUri=uri)

    assert result["__typename"] == "KeyCredentialCreated", result
    assert result["credential"]["jwksUri"] == uri
    assert result["credential"]["keys"] == []
    row = await Credential.get(id=result["credential"]["id"])
    assert (row.jwks, row.jwks_uri) == (None, uri)


async def test_client_secret_stays_the_default(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    result = await create_via_graphql(client, token)
    assert result["__typename"] == "CredentialCreated", result
    assert result["credential"]["authMethod"] == "CLIENT_SECRET"
    assert result["credential"]["keys"] == []


async def test_pk02_a_private_member_is_refused_without_echo_storage_or_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = await admin_token(client)
    _, private = ec_jwk()
    caplog.set_level(logging.DEBUG)

    result = await create_key_credential(client, token, jwks=jwks(private))

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "jwks"
    assert "private" in result["message"]
    assert private["d"] not in json.dumps(result)
    assert private["d"] not in caplog.text
    await assert_nothing_created()
    assert private["d"] not in await audit_text()


@pytest.mark.parametrize("member", PRIVATE_MEMBERS)
async def test_pk02_every_rsa_private_member_is_refused(
    client: httpx.AsyncClient, member: str
) -> None:
    token = await admin_token(client)
    jwk = {**rsa_jwk("rsa", 2048), member: "AQAB"}
    result = await create_key_credential(client, token, jwks=jwks(jwk))
    assert (result["__typename"], result["field"]) == ("ValidationError", "jwks"), result
    await assert_nothing_created()


@pytest.mark.parametrize("alg", ["HS256", "none", "RS1"])
async def test_pk02_symmetric_none_and_unlisted_algorithms_are_refused(
    client: httpx.AsyncClient, alg: str
) -> None:
    token = await admin_token(client)
    public, _ = ec_jwk()
    result = await create_key_credential(client, token, jwks=jwks({**public, "alg": alg}))
    assert (result["__typename"], result["field"]) == ("ValidationError", "jwks"), result
    await assert_nothing_created()


async def test_pk02_a_symmetric_oct_key_is_refused(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    oct_key = {"kty": "oct", "kid": "s", "alg": "HS256"}
    result = await create_key_credential(client, token, jwks=jwks(oct_key))
    assert (result["__typename"], result["field"]) == ("ValidationError", "jwks"), result
    await assert_nothing_created()


async def test_rsa_shorter_than_2048_bits_is_refused(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    result = await create_key_credential(client, token, jwks=jwks(rsa_jwk("short", 1024)))
    assert (result["__typename"], result["field"]) == ("ValidationError", "jwks"), result
    assert "2048" in result["message"]
    await assert_nothing_created()


async def test_rsa_of_2048_bits_is_accepted(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    result = await create_key_credential(client, token, jwks=jwks(rsa_jwk("rsa", 2048)))
    assert result["__typename"] == "KeyCredentialCreated", result
    assert result["credential"]["keys"][0]["alg"] == "RS256"


async def test_a_duplicate_kid_is_refused(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    first, _ = ec_jwk("same")
    second, _ = ec_jwk("same")
    result = await create_key_credential(client, token, jwks=jwks(first, second))
    assert (result["__typename"], result["field"]) == ("ValidationError", "jwks"), result
    await assert_nothing_created()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"authMethod": "PRIVATE_KEY_JWT"}, "jwks"),
        (
            {
                "authMethod": "PRIVATE_KEY_JWT",
                "jwks": "KEYS",
                "jwksUri": "https://keys.partner.example/jwks.json",
            },
            "jwksUri",
        ),
        ({"jwks": "KEYS"}, "jwks"),
        ({"jwksUri": "https://keys.partner.example/jwks.json"}, "jwksUri"),
    ],
)
async def test_key_source_is_exactly_one_for_key_credentials_and_none_otherwise(
    client: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    token = await admin_token(client)
    public, _ = ec_jwk()
    values = {name: jwks(public) if value == "KEYS" else value for name, value in overrides.items()}
    result = await create_via_graphql(client, token, **values)
    assert (result["__typename"], result["field"]) == ("ValidationError", field), result
    await assert_nothing_created()


@pytest.mark.parametrize(
    "uri",
    [
        "keys.partner.example/jwks.json",
        "https://user:password@keys.partner.example/jwks.json",
        "https://169.254.169.254/latest/meta-data",
        "ftp://keys.partner.example/jwks.json",
    ],
)
async def test_wh03_malformed_or_forbidden_jwks_uris_are_refused(
    client: httpx.AsyncClient, uri: str
) -> None:
    token = await admin_token(client)
    result = await create_key_credential(client, token, jwksUri=uri)
    assert (result["__typename"], result["field"]) == ("ValidationError", "jwksUri"), result
    await assert_nothing_created()


@pytest.mark.parametrize(
    "uri",
    [
        "http://keys.partner.example/jwks.json",
        "https://10.1.2.3/jwks.json",
        "https://127.0.0.1/jwks.json",
        "https://localhost/jwks.json",
    ],
)
async def test_wh03_production_takes_only_https_jwks_uris_to_public_addresses(
    settings: Settings, db: TortoiseContext, uri: str
) -> None:
    async with production_client(settings) as client:
        token = await admin_token(client)
        result = await create_key_credential(client, token, jwksUri=uri)
        assert (result["__typename"], result["field"]) == ("ValidationError", "jwksUri"), result
        await assert_nothing_created()
        accepted = await create_key_credential(
            client, token, jwksUri="https://keys.partner.example/jwks.json"
        )
        assert accepted["__typename"] == "KeyCredentialCreated", accepted


async def test_pk02_a_key_of_another_credential_is_refused_in_any_organisation(
    client: httpx.AsyncClient,
) -> None:
    acme = await admin_token(client)
    rival = await admin_token(client, organisation="Rival Events", email="admin@rival.example")
    public, _ = ec_jwk("shared")
    assert (await create_key_credential(client, acme, jwks=jwks(public)))[
        "__typename"
    ] == "KeyCredentialCreated"

    renamed = {**public, "kid": "another-kid"}
    for token in (acme, rival):
        result = await create_key_credential(client, token, name="Copy", jwks=jwks(renamed))
        assert (result["__typename"], result["field"]) == ("ValidationError", "jwks"), result
        assert "Acme" not in result["message"]
        assert "Box office" not in result["message"]
    assert await Credential.all().count() == 1
    assert await CredentialKey.all().count() == 1


# --- regenerate ---------------------------------------------------------------------------------


async def test_regenerate_secret_of_a_key_credential_is_refused(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    public, _ = ec_jwk()
    created = await create_key_credential(client, token, jwks=jwks(public))
    credential_id = created["credential"]["id"]

    body = await gql(
        client,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": credential_id}},
        token=token,
    )

    result = body["data"]["regenerateCredentialSecret"]
    assert result["__typename"] == "CredentialUsesKeys", result
    assert result["message"] == (
        "This credential authenticates with a key pair; add or remove keys instead."
    )
    assert await CredentialSecret.all().count() == 0
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_SECRET_REGENERATED).count() == 0


# --- update (rotation) --------------------------------------------------------------------------


async def test_rotation_replaces_keys_audits_and_publishes(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    old, _ = ec_jwk("old")
    new, _ = ec_jwk("new")
    created = await create_key_credential(client, token, jwks=jwks(old))
    credential_id = created["credential"]["id"]
    old_row = await CredentialKey.get(kid="old")
    used_at = old_row.created_at
    old_row.last_used_at = used_at
    await old_row.save(update_fields=["last_used_at"])
    feed_before = await ChangeEvent.filter(
        kind=ChangeKind.CREDENTIAL_CHANGED, credential_id=credential_id
    ).count()

    added = await update(client, token, id=credential_id, jwks=jwks(old, new))

    assert added["__typename"] == "CredentialUpdated", added
    keys = {key["kid"]: key for key in added["credential"]["keys"]}
    assert set(keys) == {"old", "new"}
    assert keys["old"]["lastUsedAt"] is not None, "a key that stays keeps when it was last used"
    assert keys["new"]["lastUsedAt"] is None
    assert (
        await ChangeEvent.filter(
            kind=ChangeKind.CREDENTIAL_CHANGED, credential_id=credential_id
        ).count()
        == feed_before + 1
    )

    removed = await update(client, token, id=credential_id, jwks=jwks(new))

    assert [key["kid"] for key in removed["credential"]["keys"]] == ["new"]
    assert await CredentialKey.filter(credential_id=credential_id).count() == 1
    row = await Credential.get(id=credential_id)
    assert row.jwks == {"keys": [new]}
    events = await AuditEvent.filter(action=AuditAction.CREDENTIAL_UPDATED).order_by("occurred_at")
    assert len(events) == 2
    first, second = events
    assert first.before is not None
    assert first.after is not None
    assert [key["kid"] for key in first.before["keys"]] == ["old"]
    assert [key["kid"] for key in first.after["keys"]] == ["new", "old"]
    assert second.after is not None
    assert [key["kid"] for key in second.after["keys"]] == ["new"]
    assert set(second.after["keys"][0]) == {"kid", "alg", "thumbprint"}
    assert new["x"] not in await audit_text(), "key material is never audited"


async def test_same_keys_again_change_nothing(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    public, _ = ec_jwk()
    created = await create_key_credential(client, token, jwks=jwks(public))
    result = await update(client, token, id=created["credential"]["id"], jwks=jwks(public))
    assert result["__typename"] == "CredentialUpdated", result
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_UPDATED).count() == 0


async def test_switching_from_a_set_to_a_uri(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    public, _ = ec_jwk()
    created = await create_key_credential(client, token, jwks=jwks(public))
    uri = "https://keys.partner.example/jwks.json"
    result = await update(client, token, id=created["credential"]["id"], jwksUri=uri)
    assert result["__typename"] == "CredentialUpdated", result
    assert (result["credential"]["jwksUri"], result["credential"]["keys"]) == (uri, [])
    row = await Credential.get(id=created["credential"]["id"])
    assert row.jwks is None


async def test_update_refusals_leave_keys_unchanged(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    public, _ = ec_jwk("mine")
    other, _ = ec_jwk("theirs")
    created = await create_key_credential(client, token, jwks=jwks(public))
    await create_key_credential(client, token, name="Other", jwks=jwks(other))
    credential_id = created["credential"]["id"]
    _, private = ec_jwk("leak")

    refusals: list[tuple[dict[str, Any], str]] = [
        ({"jwks": jwks(private)}, "jwks"),
        ({"jwks": jwks(public, other)}, "jwks"),  # PK-02: a key of another credential
        ({"jwksUri": "https://169.254.169.254/jwks"}, "jwksUri"),
        ({"jwks": jwks(public), "jwksUri": "https://keys.partner.example/j"}, "jwksUri"),
    ]
    for fields, field in refusals:
        result = await update(client, token, id=credential_id, **fields)
        assert (result["__typename"], result["field"]) == ("ValidationError", field), result
    assert [key.kid for key in await CredentialKey.filter(credential_id=credential_id)] == ["mine"]
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_UPDATED).count() == 0


@pytest.mark.parametrize("field", ["jwks", "jwksUri"])
async def test_keys_of_a_client_secret_credential_are_refused(
    client: httpx.AsyncClient, field: str
) -> None:
    token = await admin_token(client)
    created = await create_via_graphql(client, token)
    public, _ = ec_jwk()
    value = jwks(public) if field == "jwks" else "https://keys.partner.example/jwks.json"
    result = await update(client, token, id=created["credential"]["id"], **{field: value})
    assert (result["__typename"], result["field"]) == ("ValidationError", field), result
    assert await CredentialKey.all().count() == 0


# --- roles, tenancy, listing --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.VIEWER])
async def test_read_only_roles_cannot_create_or_change_keys(
    client: httpx.AsyncClient, role: Role
) -> None:
    owner = await admin_token(client)
    public, _ = ec_jwk("a")
    created = await create_key_credential(client, owner, jwks=jwks(public))
    email = f"{role.value.lower()}@acme.example"
    await make_admin(email=email, role=role)
    token = await login(client, email=email)
    other, _ = ec_jwk("b")

    denied = await create_key_credential(client, token, jwks=jwks(other))
    changed = await update(client, token, id=created["credential"]["id"], jwks=jwks(other))

    assert denied["__typename"] == "PermissionDenied", denied
    assert changed["__typename"] == "PermissionDenied", changed
    assert [key.kid for key in await CredentialKey.all()] == ["a"]
    single = await gql(
        client, operation("CredentialDetail"), {"id": created["credential"]["id"]}, token=token
    )
    assert [key["kid"] for key in single["data"]["credential"]["keys"]] == ["a"]


async def test_another_organisation_cannot_see_or_replace_keys(client: httpx.AsyncClient) -> None:
    acme = await admin_token(client)
    rival = await admin_token(client, organisation="Rival Events", email="admin@rival.example")
    public, _ = ec_jwk("a")
    created = await create_key_credential(client, acme, jwks=jwks(public))
    credential_id = created["credential"]["id"]
    other, _ = ec_jwk("b")

    result = await update(client, rival, id=credential_id, jwks=jwks(other))
    single = await gql(client, operation("Credential"), {"id": credential_id}, token=rival)

    assert result["__typename"] == "NotFound", result
    assert single["data"]["credential"] is None
    assert [key.kid for key in await CredentialKey.all()] == ["a"]


async def test_the_credentials_page_lists_each_credentials_keys(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    for index in range(3):
        first, _ = ec_jwk(f"k{index}-a")
        second, _ = ec_jwk(f"k{index}-b")
        await create_key_credential(client, token, name=f"Keys {index}", jwks=jwks(first, second))
    await create_via_graphql(client, token, name="Secret")

    body = await gql(client, operation("Credentials"), token=token)

    nodes = {edge["node"]["name"]: edge["node"] for edge in body["data"]["credentials"]["edges"]}
    assert nodes["Secret"]["keys"] == []
    for index in range(3):
        node = nodes[f"Keys {index}"]
        assert node["authMethod"] == "PRIVATE_KEY_JWT"
        assert [key["kid"] for key in node["keys"]] == [f"k{index}-a", f"k{index}-b"]
