"""Admin API tokens (`pat_…`): their format and storage (PT-01), creation rules, revocation and
expiry, the creator's role as a cap (PT-02), tenant isolation (CR-07), and last use.

The role matrix run with tokens is tests/test_api_tokens_roles.py (PT-02, PT-03); throttling is
tests/test_api_tokens_throttle.py; secrecy in logs, metrics and audit is
tests/test_api_tokens_secrecy.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from auth import tokens
from auth.admins.identity import Actor, AdminIdentity
from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import (
    API_TOKEN_PATTERN,
    API_TOKEN_PREFIX,
    SECRET_RANDOM_LENGTH,
    _with_checksum,
    api_token_lookup_id,
    client_secret_lookup_id,
    new_api_token,
    random_base62,
)
from models.admin import AdminSession, AdminUser, Membership
from models.api_token import ApiToken
from models.audit import AuditEvent
from models.enums import AuditAction, Role
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.validation import InvalidInput
from partner_api.operations import api_tokens as operations
from tests.conftest import AppFactory
from tests.helpers import (
    PASSWORD,
    TEST_PEPPER,
    admin_token,
    counting_queries,
    create_via_graphql,
    gql,
    make_admin,
    operation,
)

OWNER = "owner@acme.example"
RIVAL_OWNER = "owner@rival.example"


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def create_api_token(
    client: httpx.AsyncClient,
    session: str,
    *,
    name: str = "Deploy pipeline",
    role: str = "ADMIN",
    expires_at: str | None = None,
) -> dict[str, Any]:
    """The `createApiToken` result (any member)."""
    variables = {"input": {"name": name, "role": role, "expiresAt": expires_at or in_days(30)}}
    body = await gql(client, operation("CreateApiToken"), variables, token=session)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createApiToken"]
    return result


async def new_token(client: httpx.AsyncClient, session: str, **kwargs: Any) -> tuple[str, str]:
    """A new token made with `session`: (its `pat_…` value, its id)."""
    created = await create_api_token(client, session, **kwargs)
    assert created["__typename"] == "ApiTokenCreated", created
    return created["token"], created["apiToken"]["id"]


async def owner_session(
    client: httpx.AsyncClient, *, organisation: str = "Acme Tickets", email: str = OWNER
) -> str:
    return await admin_token(client, organisation=organisation, email=email, role=Role.OWNER)


async def listed(client: httpx.AsyncClient, bearer: str) -> list[dict[str, Any]]:
    body = await gql(client, operation("ApiTokens"), token=bearer)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["apiTokens"]["edges"]]


async def viewer_role(client: httpx.AsyncClient, bearer: str) -> str | None:
    """The role `viewer` answers for `bearer`; None when the request is not authenticated."""
    body = await gql(client, operation("Viewer"), token=bearer)
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
        return None
    role: str = body["data"]["viewer"]["role"]
    return role


def forged(token: str) -> str:
    """A well-formed token with a valid checksum and `token`'s own lookup part (so its row is
    found), but another random part: it reaches the keyed-hash comparison."""
    lookup_id = api_token_lookup_id(token)
    assert lookup_id is not None
    return _with_checksum(API_TOKEN_PREFIX, lookup_id + random_base62(SECRET_RANDOM_LENGTH))


# -- format and storage (PT-01) ---------------------------------------------------------------


def test_pt01_tokens_are_built_like_client_secrets_with_their_own_prefix_and_checksum() -> None:
    """PT-01: `pat_` + 12 lookup + 43 random + 6 checksum (base62), like a `pcs_` secret; the
    scanner regex matches it; a changed character fails the checksum; the two kinds never pass
    for each other."""
    tokens = [new_api_token() for _ in range(20)]

    for new in tokens:
        assert len(new.value) == 4 + 12 + 43 + 6
        assert API_TOKEN_PATTERN.fullmatch(new.value)
        assert api_token_lookup_id(new.value) == new.lookup_id == new.value[4:16]
        assert new.hint == new.value[-4:]
        assert client_secret_lookup_id(new.value) is None
        assert api_token_lookup_id("pcs_" + new.value[4:]) is None
        for index in (4, 20, len(new.value) - 1):
            changed = "1" if new.value[index] != "1" else "2"
            assert api_token_lookup_id(new.value[:index] + changed + new.value[index + 1 :]) is None
    assert len({new.value for new in tokens}) == len({new.lookup_id for new in tokens}) == 20
    assert API_TOKEN_PATTERN.search(f"export TOKEN={tokens[0].value}\n")


def test_pt01_tokens_come_from_the_secrets_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """PT-01: every random character is one `secrets.choice` draw from the base62 alphabet."""
    alphabets: list[str] = []

    def constant_choice(alphabet: str) -> str:
        alphabets.append(alphabet)
        return alphabet[0]

    monkeypatch.setattr("auth.tokens.secrets.choice", constant_choice)

    assert new_api_token() == new_api_token()
    assert len(alphabets) == 2 * (12 + SECRET_RANDOM_LENGTH)
    assert {len(set(alphabet)) for alphabet in alphabets} == {62}


def test_pt01_the_documented_scanner_regex_is_the_one_in_use() -> None:
    """PT-01: secret scanners are configured from the README and auth/tokens.py."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

    assert API_TOKEN_PATTERN.pattern == r"\bpat_[0-9A-Za-z]{61}\b"
    assert API_TOKEN_PATTERN.pattern in readme
    assert API_TOKEN_PATTERN.pattern in (tokens.__doc__ or "")


async def test_pt01_a_token_is_shown_once_and_stored_only_as_a_keyed_hash(
    client: httpx.AsyncClient,
) -> None:
    """PT-01: the value is in the create answer and nowhere after: the row holds the lookup part,
    a versioned keyed hash and the last four characters; the list and the audit trail hold
    neither the value nor the hash."""
    session = await owner_session(client)

    created = await create_api_token(client, session, name="Terraform", role="DEVELOPER")

    assert created["__typename"] == "ApiTokenCreated", created
    token = created["token"]
    row = await ApiToken.get(id=created["apiToken"]["id"])
    assert row.token_hash.startswith("v1$")
    assert KeyedHasher((TEST_PEPPER,)).matches(token, row.token_hash)
    assert row.lookup_id == token[4:16]
    assert row.hint == token[-4:] == created["apiToken"]["hint"]
    stored = " ".join(
        str(value) for value in (await ApiToken.filter(id=row.id).values())[0].values()
    )
    assert token not in stored
    assert token[16:] not in stored  # the random part and checksum
    assert created["apiToken"] == {
        "id": str(row.id),
        "name": "Terraform",
        "role": "DEVELOPER",
        "effectiveRole": "DEVELOPER",
        "status": "ACTIVE",
        "hint": token[-4:],
        "createdBy": {"email": OWNER},
        "createdAt": created["apiToken"]["createdAt"],
        "expiresAt": created["apiToken"]["expiresAt"],
        "lastUsedAt": None,
        "lastUsedIp": None,
        "revokedAt": None,
    }
    listing = await client.post(
        "/graphql",
        json={"query": operation("ApiTokens")},
        headers={"Authorization": f"Bearer {session}"},
    )
    assert listing.json()["data"]["apiTokens"]["edges"][0]["node"]["id"] == str(row.id)
    trail = await client.post(
        "/graphql",
        json={"query": operation("AuditEvents")},
        headers={"Authorization": f"Bearer {session}"},
    )
    for answer in (listing.text, trail.text):
        assert token not in answer
        assert token[16:] not in answer
        assert row.token_hash not in answer
    assert await viewer_role(client, token) == "DEVELOPER"


async def test_pt01_a_forged_or_mistyped_token_is_refused(client: httpx.AsyncClient) -> None:
    """PT-01: right lookup part and checksum but another random part (a wrong token that reaches
    the keyed hash), a bad checksum, a cut-short token: each is not authenticated."""
    session = await owner_session(client)
    token, _ = await new_token(client, session)

    for wrong in (forged(token), token[:-1] + ("A" if token[-1] != "A" else "B"), token[:-6]):
        assert await viewer_role(client, wrong) is None, wrong
    assert await viewer_role(client, token) == "ADMIN"


# -- creation rules ---------------------------------------------------------------------------


async def test_pt02_a_tokens_role_is_at_most_admin(client: httpx.AsyncClient) -> None:
    """PT-02: an owner may create ADMIN, DEVELOPER and VIEWER tokens, never an OWNER one."""
    session = await owner_session(client)

    refused = await create_api_token(client, session, role="OWNER")
    roles = [
        (await create_api_token(client, session, role=role))["apiToken"]["role"]
        for role in ("ADMIN", "DEVELOPER", "VIEWER")
    ]

    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == "role"
    assert "at most ADMIN" in refused["message"]
    assert roles == ["ADMIN", "DEVELOPER", "VIEWER"]
    assert await ApiToken.all().count() == 3


async def test_pt02_a_tokens_role_is_at_most_its_creators(client: httpx.AsyncClient) -> None:
    """PT-02: the creator's own role bounds the token's (checked against the membership as it is
    in the database, whatever the caller's identity says)."""
    _, organisation, membership = await make_admin(email="dev@acme.example", role=Role.DEVELOPER)
    identity = AdminIdentity(
        user_id=membership.user.id,
        email="dev@acme.example",
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        role=Role.ADMIN,  # stale or forged: the database says DEVELOPER
    )
    actor = Actor(identity=identity, ip_address=None, user_agent=None)
    draft = operations.ApiTokenDraft(
        name="CI", role=Role.ADMIN, expires_at=utcnow() + timedelta(days=1)
    )

    with pytest.raises(InvalidInput) as refused:
        await operations.create_api_token(
            TenantScope(organisation.id),
            actor,
            draft,
            hasher=KeyedHasher((TEST_PEPPER,)),
            now=utcnow(),
        )

    assert refused.value.field == "role"
    assert "DEVELOPER" in refused.value.message
    assert await ApiToken.all().count() == 0


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.VIEWER])
async def test_cr09_only_owners_and_admins_manage_tokens(
    client: httpx.AsyncClient, role: Role
) -> None:
    """CR-09: developers and viewers may not create, list or revoke tokens."""
    owner = await owner_session(client)
    _, token_id = await new_token(client, owner)
    member = await admin_token(client, email="member@acme.example", role=role)

    created = await create_api_token(client, member)
    listing = await gql(client, operation("ApiTokens"), token=member)
    revoked = await gql(
        client, operation("RevokeApiToken"), {"input": {"id": token_id}}, token=member
    )

    assert created["__typename"] == "PermissionDenied", created
    assert listing["data"] is None
    assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert revoked["data"]["revokeApiToken"]["__typename"] == "PermissionDenied"
    assert (await ApiToken.get(id=token_id)).revoked_at is None
    assert await ApiToken.all().count() == 1


@pytest.mark.parametrize(
    ("name", "expires_at", "field"),
    [
        pytest.param("", None, "name", id="empty-name"),
        pytest.param("x" * 101, None, "name", id="long-name"),
        pytest.param("CI\u202egnp.exe", None, "name", id="bidi-override"),
        pytest.param("CI\x00", None, "name", id="nul"),
        pytest.param("CI", "past", "expiresAt", id="past"),
        pytest.param("CI", "naive", "expiresAt", id="no-time-zone"),
        pytest.param("CI", "367 days", "expiresAt", id="beyond-366-days"),
    ],
)
async def test_gq13_invalid_names_and_expiries_are_validation_errors(
    client: httpx.AsyncClient, name: str, expires_at: str | None, field: str
) -> None:
    """GQ-13 and the expiry rule: control and invisible characters, length, an expiry in the past,
    without a time zone, or more than 366 days away: a ValidationError at the field, no row."""
    session = await owner_session(client)
    moments = {
        "past": in_days(-1 / 24),
        "naive": (datetime.now(UTC) + timedelta(days=3)).replace(tzinfo=None).isoformat(),
        "367 days": in_days(367),
    }

    refused = await create_api_token(
        client, session, name=name, expires_at=moments[expires_at] if expires_at else None
    )

    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == field
    assert await ApiToken.all().count() == 0


async def test_expiry_is_required_and_366_days_is_allowed(client: httpx.AsyncClient) -> None:
    session = await owner_session(client)
    missing = await gql(
        client,
        operation("CreateApiToken"),
        {"input": {"name": "CI", "role": "ADMIN"}},
        token=session,
    )

    longest = await create_api_token(client, session, expires_at=in_days(366 - 1 / 24))

    assert missing["data"] is None
    assert "expiresAt" in missing["errors"][0]["message"], missing
    assert longest["__typename"] == "ApiTokenCreated", longest


# -- revocation, expiry and the creator (PT-02) ------------------------------------------------


async def test_pt02_a_revoked_token_stops_at_once_in_every_process(make_app: AppFactory) -> None:
    """PT-02: nothing caches a token, so a revocation made through one process holds on the very
    next request to another (well within 1 s). Revoking again answers the same, audited once."""
    first, second = make_app(), make_app()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b") as two,
    ):
        session = await owner_session(one)
        token, token_id = await new_token(one, session)
        assert await viewer_role(two, token) == "ADMIN"

        revoked = await gql(
            one, operation("RevokeApiToken"), {"input": {"id": token_id}}, token=session
        )
        refused_elsewhere = await viewer_role(two, token)
        again = await gql(
            two, operation("RevokeApiToken"), {"input": {"id": token_id}}, token=session
        )

    result = revoked["data"]["revokeApiToken"]
    assert result["__typename"] == "ApiTokenRevoked", result
    assert result["apiToken"]["status"] == "REVOKED"
    assert result["apiToken"]["effectiveRole"] is None
    assert refused_elsewhere is None
    assert again["data"]["revokeApiToken"] == result
    (event,) = await AuditEvent.filter(action=AuditAction.API_TOKEN_REVOKED)
    assert event.after is not None
    assert event.after["apiTokenId"] == token_id


async def test_pt02_an_expired_token_stops(client: httpx.AsyncClient) -> None:
    session = await owner_session(client)
    token, token_id = await new_token(client, session)
    assert await viewer_role(client, token) == "ADMIN"

    await ApiToken.filter(id=token_id).update(expires_at=utcnow())

    assert await viewer_role(client, token) is None
    (node,) = await listed(client, session)
    assert (node["status"], node["effectiveRole"]) == ("EXPIRED", None)


async def test_pt02_a_demoted_creator_demotes_the_token(client: httpx.AsyncClient) -> None:
    """PT-02: the token acts as the lesser of its role and its creator's current role, on every
    request: a demotion applies at once, and so does a promotion back (up to the token's role)."""
    owner = await owner_session(client)
    admin = await admin_token(client, email="ops@acme.example", role=Role.ADMIN)
    token, _ = await new_token(client, admin, role="ADMIN")

    await make_admin(email="ops@acme.example", role=Role.VIEWER)
    demoted = await viewer_role(client, token)
    denied = await create_via_graphql(client, token, name="Not any more")
    (node,) = await listed(client, owner)
    await make_admin(email="ops@acme.example", role=Role.ADMIN)
    restored = await viewer_role(client, token)

    assert demoted == "VIEWER"
    assert denied["__typename"] == "PermissionDenied", denied
    assert (node["role"], node["effectiveRole"], node["status"]) == ("ADMIN", "VIEWER", "ACTIVE")
    assert restored == "ADMIN"


async def test_pt02_a_creator_who_leaves_the_organisation_ends_the_token(
    client: httpx.AsyncClient,
) -> None:
    """PT-02: with the creator's membership gone the token cannot act, and stays listed (who
    created it included) for the record."""
    owner = await owner_session(client)
    admin = await admin_token(client, email="ops@acme.example", role=Role.ADMIN)
    token, token_id = await new_token(client, admin)
    assert await viewer_role(client, token) == "ADMIN"

    await Membership.filter(user__email="ops@acme.example").delete()

    assert await viewer_role(client, token) is None
    (node,) = await listed(client, owner)
    assert node["id"] == token_id
    assert (node["effectiveRole"], node["createdBy"]) == (None, {"email": "ops@acme.example"})


# -- tenancy (CR-07) ---------------------------------------------------------------------------


async def test_cr07_another_organisations_token_id_answers_like_an_unknown_id(
    client: httpx.AsyncClient,
) -> None:
    """CR-07: revoking another organisation's token answers exactly like an unknown or malformed
    id, changes nothing, and the list shows only the caller's own tokens."""
    acme = await owner_session(client)
    rival = await owner_session(client, organisation="Rival Events", email=RIVAL_OWNER)
    acme_token, acme_id = await new_token(client, acme, name="Acme CI")
    _, rival_id = await new_token(client, rival, name="Rival CI")

    answers = [
        await gql(client, operation("RevokeApiToken"), {"input": {"id": token_id}}, token=rival)
        for token_id in (acme_id, str(uuid.uuid4()), "not-a-uuid")
    ]

    assert answers[0]["data"]["revokeApiToken"]["__typename"] == "NotFound", answers[0]
    assert answers[0] == answers[1] == answers[2]
    assert (await ApiToken.get(id=acme_id)).revoked_at is None
    assert await viewer_role(client, acme_token) == "ADMIN"
    assert [node["id"] for node in await listed(client, rival)] == [rival_id]
    assert [node["id"] for node in await listed(client, acme)] == [acme_id]


async def test_cr07_a_token_acts_in_its_own_organisation_only(client: httpx.AsyncClient) -> None:
    acme = await owner_session(client)
    rival = await owner_session(client, organisation="Rival Events", email=RIVAL_OWNER)
    rival_credential = (await create_via_graphql(client, rival, name="Rival CRM"))["credential"]
    token, _ = await new_token(client, acme)

    viewer = await gql(client, operation("Viewer"), token=token)
    foreign = await gql(
        client, operation("Credential"), {"id": rival_credential["id"]}, token=token
    )
    credentials = await gql(client, operation("Credentials"), token=token)

    assert viewer["data"]["viewer"]["organisation"]["name"] == "Acme Tickets"
    assert foreign == {"data": {"credential": None}}
    assert credentials["data"]["credentials"]["totalCount"] == 0


# -- sessions (PT-02) --------------------------------------------------------------------------


async def test_pt02_a_token_cannot_log_in_or_out(client: httpx.AsyncClient) -> None:
    """PT-02: `login` and `logout` sent with a `pat_…` bearer (valid or not) are FORBIDDEN before
    anything happens: no session starts, none ends (not even the cookie's), no login is audited."""
    session = await owner_session(client)  # the client's cookie jar now holds this session
    token, _ = await new_token(client, session)
    sessions = await AdminSession.filter(ended_at__isnull=True).count()
    logins = await AuditEvent.filter(action=AuditAction.ADMIN_LOGIN).count()
    last_login = (await AdminUser.get(email=OWNER)).last_login_at

    answers = [
        await gql(client, operation("Login"), {"email": OWNER, "password": PASSWORD}, token=bearer)
        for bearer in (token, forged(token))
    ] + [await gql(client, operation("Logout"), token=bearer) for bearer in (token, forged(token))]

    for answer in answers:
        assert answer["data"] is None, answer
        assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN", answer
        assert "API token" in answer["errors"][0]["message"]
    assert await AdminSession.filter(ended_at__isnull=True).count() == sessions
    assert await AuditEvent.filter(action=AuditAction.ADMIN_LOGIN).count() == logins
    assert (await AdminUser.get(email=OWNER)).last_login_at == last_login
    assert await viewer_role(client, session) == "OWNER"


async def test_pt02_an_api_token_cannot_create_api_tokens(client: httpx.AsyncClient) -> None:
    """PT-02 (stricter): a token of any role, ADMIN included, mints no token at all."""
    session = await owner_session(client)
    token, _ = await new_token(client, session, role="ADMIN")

    refused = [await create_api_token(client, token, role=role) for role in ("ADMIN", "VIEWER")]

    for answer in refused:
        assert answer["__typename"] == "PermissionDenied", answer
        assert "cannot create API tokens" in answer["message"]
    assert await ApiToken.all().count() == 1


# -- cost and last use -------------------------------------------------------------------------


def _token_statements(statements: list[str]) -> list[str]:
    return [sql for sql in statements if '"api_token"' in sql or "api_token " in sql]


async def test_a_request_is_one_lookup_and_last_use_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One indexed query per request authenticates a token; the first use in a minute also writes
    last use (time and address), the others write nothing."""
    session = await owner_session(client)
    token, token_id = await new_token(client, session)

    with counting_queries(monkeypatch) as statements:
        assert await viewer_role(client, token) == "ADMIN"
    first = _token_statements(statements)
    with counting_queries(monkeypatch) as statements:
        for _ in range(3):
            assert await viewer_role(client, token) == "ADMIN"
    later = _token_statements(statements)
    used = await ApiToken.get(id=token_id)
    await ApiToken.filter(id=token_id).update(last_used_at=utcnow() - timedelta(seconds=61))
    with counting_queries(monkeypatch) as statements:
        await viewer_role(client, token)
    after_a_minute = _token_statements(statements)

    assert [sql.split()[0] for sql in first] == ["SELECT", "UPDATE"]
    assert [sql.split()[0] for sql in later] == ["SELECT"] * 3
    assert [sql.split()[0] for sql in after_a_minute] == ["SELECT", "UPDATE"]
    assert used.last_used_ip == "203.0.113.10"
    assert used.last_used_at is not None
    assert (await ApiToken.get(id=token_id)).last_used_at > used.last_used_at  # type: ignore[operator]
    (node,) = await listed(client, session)
    assert node["lastUsedIp"] == "203.0.113.10"
