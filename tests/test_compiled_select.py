"""`CompiledSelect`: the same rows as the Tortoise query, SQL built once per shape, and no
compilation when the bound values would not line up with Tortoise's own parameters."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from tortoise.context import TortoiseContext
from tortoise.queryset import QuerySet

from auth.admins.sessions import session_token_digest, start_session
from models.admin import AdminSession
from models.compiled_select import CompiledSelect
from models.credential import Credential
from models.enums import AccessLevel
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from tests.helpers import make_admin, make_credential

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# The tortoise-orm releases whose internals models/compiled_select.py is tested with.
TESTED_TORTOISE = SpecifierSet(">=1.1,<1.2")


def test_the_installed_tortoise_is_one_compiled_select_is_tested_with() -> None:
    installed = Version(version("tortoise-orm"))
    assert installed in TESTED_TORTOISE, (
        f"models/compiled_select.py relies on Tortoise internals and is tested with "
        f"tortoise-orm {TESTED_TORTOISE}, not the installed {installed}: run this file and "
        "`make bench` with it, then widen TESTED_TORTOISE here and the pyproject.toml range"
    )


def test_pyproject_allows_only_the_tortoise_releases_compiled_select_is_tested_with() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    tortoise = [
        requirement.specifier
        for requirement in map(Requirement, dependencies)
        if requirement.name == "tortoise-orm"
    ]
    assert tortoise == [TESTED_TORTOISE], (
        f"pyproject.toml allows tortoise-orm {tortoise}; models/compiled_select.py is tested with "
        f"{TESTED_TORTOISE} only"
    )


def counting(
    build: Callable[..., QuerySet[Any]],
) -> tuple[Callable[..., QuerySet[Any]], list[tuple[Any, ...]]]:
    """`build`, and the list of the values of every call to it."""
    calls: list[tuple[Any, ...]] = []

    def counted(*values: Any) -> QuerySet[Any]:
        calls.append(values)
        return build(*values)

    return counted, calls


async def test_rows_match_tortoise_and_each_shape_is_built_once(db: TortoiseContext) -> None:
    _, organisation, _ = await make_admin()
    issued = [await make_credential(organisation=organisation, name=f"P{i}") for i in range(4)]
    ids = [item.credential.id for item in issued]

    def by_ids(wanted: list[Any]) -> QuerySet[Credential]:
        return Credential.filter(id__in=wanted).order_by("name")

    build, calls = counting(by_ids)
    compiled = CompiledSelect(Credential, build)

    for wanted in (ids[:1], ids[1:3], ids[:1], [ids[3], ids[0]], ids[2:4], [uuid4()]):
        got = await compiled.fetch(wanted)
        expected = await by_ids(wanted)
        assert [row.id for row in got] == [row.id for row in expected]
        assert [row.name for row in got] == [row.name for row in expected]
        assert [row.created_at for row in got] == [row.created_at for row in expected]
        assert [row.scopes for row in got] == [row.scopes for row in expected]

    # One build per shape (lists of 1 and of 2), reused for later values of the same shape.
    assert [len(values[0]) for values in calls] == [1, 2]


async def test_select_related_models_are_filled_in(db: TortoiseContext) -> None:
    _, organisation, membership = await make_admin(email="owner@acme.example")
    issued = await start_session(
        membership, now=utcnow(), ttl=timedelta(hours=1), ip_address=None, user_agent=None
    )
    compiled = CompiledSelect(
        AdminSession,
        lambda digest, now, limit: (
            AdminSession.filter(token_hash=digest, expires_at__gt=now)
            .select_related("membership__user", "membership__organisation")
            .limit(limit)
        ),
    )
    digest = session_token_digest(issued.token)
    for _ in range(2):
        [session] = await compiled.fetch(digest, utcnow(), 1)
        assert session.id == issued.session.id
        assert session.membership.user.email == "owner@acme.example"
        assert session.membership.organisation.id == organisation.id
    assert await compiled.fetch(digest, utcnow() + timedelta(hours=2), 1) == []
    assert await compiled.fetch(session_token_digest("pas_" + "x" * 43), utcnow(), 1) == []


async def test_a_query_whose_parameters_do_not_line_up_is_never_compiled(
    db: TortoiseContext,
) -> None:
    """A constant LIMIT, or a value Tortoise converts (an enum to its text), would leave the
    bound values out of step with the SQL: such shapes keep running the Tortoise query."""
    _, organisation, _ = await make_admin()
    for index in range(3):
        await make_credential(organisation=organisation, name=f"P{index}")
    await make_credential(
        organisation=organisation,
        name="Narrow",
        access_level=AccessLevel.FINE_GRAINED,
        scopes=["events:read"],
    )

    constant_limit, limit_calls = counting(
        lambda organisation_id: Credential.filter(organisation_id=organisation_id).limit(2)
    )
    by_level, level_calls = counting(
        lambda level: Credential.filter(access_level=level).order_by("name")
    )
    limited = CompiledSelect(Credential, constant_limit)
    levels = CompiledSelect(Credential, by_level)
    for _ in range(3):
        assert len(await limited.fetch(organisation.id)) == 2
        assert [row.name for row in await levels.fetch(AccessLevel.FINE_GRAINED)] == ["Narrow"]

    # Built on every call (one extra build for the first, compiling, attempt): never compiled.
    assert len(limit_calls) == 4
    assert len(level_calls) == 4


async def test_naive_datetimes_and_none_are_never_compiled_aware_ones_are(
    db: TortoiseContext,
) -> None:
    """Tortoise passes an aware datetime through but makes a naive one aware, and turns None into
    IS NULL: only the first can be bound as it is, for every value of its shape."""
    _, organisation, _ = await make_admin()
    await make_credential(organisation=organisation, name="Only")

    def created_before(moment: Any) -> QuerySet[Credential]:
        return Credential.filter(created_at__lt=moment)

    build, calls = counting(created_before)
    compiled = CompiledSelect(Credential, build)
    later_utc = utcnow() + timedelta(minutes=1)
    later_elsewhere = later_utc.astimezone(timezone(timedelta(hours=-5)))
    for moment in (later_utc, later_elsewhere, later_utc - timedelta(hours=1)):
        expected = [row.id for row in await created_before(moment)]
        assert [row.id for row in await compiled.fetch(moment)] == expected
    assert len(calls) == 1  # one shape (aware), compiled once

    naive_calls_before = len(calls)
    naive = later_utc.replace(tzinfo=None)
    for _ in range(2):
        with pytest.warns(RuntimeWarning, match="naive datetime"):
            assert len(await compiled.fetch(naive)) == 1
    assert len(calls) - naive_calls_before == 3  # never compiled: built on every call

    by_reason, reason_calls = counting(lambda reason: Credential.filter(revocation_reason=reason))
    by_revocation = CompiledSelect(Credential, by_reason)
    for _ in range(2):
        assert len(await by_revocation.fetch(None)) == 1
    assert len(reason_calls) == 3


async def test_newest_credentials_are_the_tenant_query_newest_first(db: TortoiseContext) -> None:
    """The first page's compiled read gives exactly the tenant's query ordered and limited: only
    this organisation's rows (CR-07), ties on `created_at` broken by id, as later pages expect."""
    _, mine, _ = await make_admin()
    _, theirs, _ = await make_admin(organisation="Other Co", email="other@other.example")
    for index in range(5):
        await make_credential(organisation=mine, name=f"Mine {index}")
        await make_credential(organisation=theirs, name=f"Theirs {index}")
    same_moment = utcnow()
    await Credential.filter(organisation_id=mine.id, name__in=["Mine 1", "Mine 2"]).update(
        created_at=same_moment
    )
    scope = TenantScope(mine.id)

    for limit in (1, 3, 6, 1):
        got = await scope.newest_credentials(limit)
        expected = await scope.credentials().order_by("-created_at", "-id").limit(limit)
        assert [row.id for row in got] == [row.id for row in expected]
        assert all(row.organisation_id == mine.id for row in got)  # type: ignore[attr-defined]
