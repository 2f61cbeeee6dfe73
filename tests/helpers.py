"""Small keyword-only helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections

from auth.admins.identity import Actor
from auth.partners import change_feed
from auth.partners.client_auth import CLIENT_SECRET_BASIC, PresentedClient
from auth.partners.client_secrets import AuthenticatedClient, verify_client
from auth.partners.credential_directory import CredentialDirectory
from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import (
    CLIENT_SECRET_PREFIX,
    SECRET_RANDOM_LENGTH,
    _with_checksum,
    client_secret_lookup_id,
    random_base62,
)
from models.admin import AdminUser, Membership
from models.credential import Credential
from models.enums import AccessLevel, Role
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.operations.admins import create_admin
from partner_api.operations.credentials import (
    CredentialDraft,
    IssuedSecret,
    create_credential,
    regenerate_secret,
)

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"
PASSWORD = "correct horse battery staple"
# Database 15 of the local Redis: the counter tests flush it around each test.
REDIS_URL = "redis://127.0.0.1:6379/15"
TEST_PEPPER = b"test-pepper-0123456789abcdefghijklmnopqrstuvwxyz"
TEST_KEY_ENCRYPTION_KEY = b"test-key-encryption-key-0123456789abcdefghij"


def operation(name: str) -> str:
    """An operation document from graphql/operations, with the shared fragments it uses."""
    document = (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")
    if "...CredentialFields" in document:
        document += "\n" + (OPERATIONS / "fragments.graphql").read_text(encoding="utf-8")
    return document


async def gql(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """POST a GraphQL document; returns the whole JSON body (data and errors)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_admin(
    *,
    organisation: str = "Acme Tickets",
    email: str = "admin@acme.example",
    role: Role = Role.ADMIN,
    password: str = PASSWORD,
) -> tuple[AdminUser, Organisation, Membership]:
    account = await create_admin(
        email=email, organisation_name=organisation, role=role, password=password
    )
    return account.user, account.organisation, account.membership


async def login(client: httpx.AsyncClient, *, email: str, password: str = PASSWORD) -> str:
    body = await gql(client, operation("Login"), {"email": email, "password": password})
    result = body["data"]["login"]
    assert result["__typename"] == "LoginSuccess", result
    token: str = result["token"]
    return token


async def admin_token(
    client: httpx.AsyncClient,
    *,
    organisation: str = "Acme Tickets",
    email: str = "admin@acme.example",
    role: Role = Role.ADMIN,
) -> str:
    """Create an admin and log them in; returns the session token."""
    await make_admin(organisation=organisation, email=email, role=role)
    return await login(client, email=email)


async def make_credential(
    *,
    organisation: Organisation,
    name: str = "Box office",
    access_level: AccessLevel = AccessLevel.FULL,
    scopes: list[str] | None = None,
    event_ids: list[str] | None = None,
    hasher: KeyedHasher | None = None,
) -> IssuedSecret:
    """A credential created directly through the lifecycle (no GraphQL), by the system; limited
    to `event_ids` when given."""
    return await create_credential(
        TenantScope(organisation.id),
        Actor(identity=None, ip_address=None, user_agent="tests"),
        CredentialDraft(
            name=name,
            contact_email="ops@partner.example",
            access_level=access_level,
            scopes=scopes,
            event_ids=event_ids,
        ),
        hasher=hasher or KeyedHasher((TEST_PEPPER,)),
        now=utcnow(),
    )


async def rotate_secret(
    organisation: Organisation, issued: IssuedSecret, *, grace_minutes: int
) -> IssuedSecret:
    """A new secret for `issued`'s credential through the lifecycle (no GraphQL), by the system;
    the current one stays live for `grace_minutes`."""
    return await regenerate_secret(
        TenantScope(organisation.id),
        Actor(identity=None, ip_address=None, user_agent="tests"),
        str(issued.credential.id),
        timedelta(minutes=grace_minutes),
        hasher=KeyedHasher((TEST_PEPPER,)),
        now=utcnow(),
    )


def client_at(app: Starlette, address: str) -> httpx.AsyncClient:
    """A client of `app` connecting from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def create_via_graphql(
    client: httpx.AsyncClient, token: str, **overrides: Any
) -> dict[str, Any]:
    """Create a credential through GraphQL; returns the `createCredential` result."""
    variables = {
        "input": {
            "name": "Box office sync",
            "contactEmail": "it@boxoffice.example",
            "accessLevel": "FULL",
            **overrides,
        }
    }
    body = await gql(client, operation("CreateCredential"), variables, token=token)
    result: dict[str, Any] = body["data"]["createCredential"]
    return result


async def regenerate_via_graphql(
    client: httpx.AsyncClient, token: str, credential_id: str, grace: int | None = None
) -> dict[str, Any]:
    """Regenerate a credential's secret through GraphQL; returns the mutation's result."""
    variables: dict[str, Any] = {"id": credential_id}
    if grace is not None:
        variables["gracePeriodMinutes"] = grace
    body = await gql(
        client, operation("RegenerateCredentialSecret"), {"input": variables}, token=token
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["regenerateCredentialSecret"]
    return result


async def verify_client_secret(
    client_id: str, secret: str, *, hasher: KeyedHasher, now: datetime
) -> AuthenticatedClient | None:
    """The token endpoint's own check of a client ID and secret (`auth.partners.client_secrets.
    verify_client`) at `now`, from a cold credential cache: the client, or None when refused."""
    presented = PresentedClient(client_id, secret, CLIENT_SECRET_BASIC)
    found = await verify_client(CredentialDirectory(), hasher, presented, client_ip=None, now=now)
    return None if isinstance(found, str) else found


def wrong_secret_for(secret: str) -> str:
    """A wrong secret that reaches the keyed-hash comparison: well-formed, with a valid checksum
    and `secret`'s own lookup part (so its row is found), but another random part."""
    lookup_id = client_secret_lookup_id(secret)
    assert lookup_id is not None, "not a well-formed client secret"
    return _with_checksum(CLIENT_SECRET_PREFIX, lookup_id + random_base62(SECRET_RANDOM_LENGTH))


def publish_as_another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes published from here on are hidden from this process's own-rows shortcut, so every
    app in the interpreter learns of them only by polling the feed, as another process would."""
    monkeypatch.setattr(change_feed, "_remember_own_rows", lambda row_ids: None)


@contextmanager
def counting_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the default connection runs while the block is open."""
    statements: list[str] = []
    client_class = type(connections.get("default"))
    with monkeypatch.context() as patch:
        for name in ("execute_query", "execute_query_dict"):
            original = getattr(client_class, name)

            async def counted(self: Any, query: str, *args: Any, _original: Any = original) -> Any:
                statements.append(query)
                return await _original(self, query, *args)

            patch.setattr(client_class, name, counted)
        yield statements


async def credential_row(credential_id: str) -> Credential:
    return await Credential.get(id=credential_id)


@dataclass(frozen=True)
class Partner:
    """A partner as its client library sees it: a client ID and secret, and the OAuth calls."""

    client_id: str
    secret: str

    async def token(self, client: httpx.AsyncClient) -> str:
        response = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.secret),
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def introspect(self, client: httpx.AsyncClient, token: str) -> dict[str, Any]:
        response = await client.post(
            "/oauth/introspect", data={"token": token}, auth=(self.client_id, self.secret)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body
