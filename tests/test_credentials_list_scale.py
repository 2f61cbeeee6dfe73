"""The credentials list at scale: `totalCount` from the stored count stays exact (creates,
revocations, deletions, rollbacks, concurrent creates, each organisation its own), migration 0014
counts what existed, and the list's pages are read off an index in the list's own order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from tortoise import connections
from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate
from tortoise.transactions import in_transaction

from auth.tokens import new_client_id
from models.credential import Credential
from models.credential_tally import credential_total, credentials_added
from models.enums import AccessLevel
from models.keyset import keyset_page
from models.organisation import Organisation
from partner_api.foundation.database import apply_migrations, tortoise_config
from tests.database import empty_database, on_postgres
from tests.helpers import admin_token, create_via_graphql, gql, make_credential, operation


async def total_count(client: httpx.AsyncClient, token: str, **variables: Any) -> int:
    body = await gql(client, operation("Credentials"), variables, token=token)
    assert "errors" not in body, body
    count: int = body["data"]["credentials"]["totalCount"]
    return count


async def organisation_named(name: str) -> Organisation:
    return await Organisation.get(name=name)


async def test_total_count_follows_creates_and_revocations_per_organisation(
    client: httpx.AsyncClient,
) -> None:
    acme = await admin_token(client)
    rival = await admin_token(client, organisation="Rival Events", email="admin@rival.example")
    created = [await create_via_graphql(client, acme, name=f"Acme {n}") for n in range(3)]
    await create_via_graphql(client, rival, name="Rival 0")

    revoked = await gql(
        client,
        operation("RevokeCredential"),
        {"input": {"id": created[0]["credential"]["id"]}},
        token=acme,
    )

    assert revoked["data"]["revokeCredential"]["__typename"] == "CredentialRevoked"
    assert await total_count(client, acme) == 3, "a revoked credential is still listed"
    assert await total_count(client, rival) == 1, "another organisation's creates leaked in"
    assert await total_count(client, acme, status="REVOKED") == 1
    assert await total_count(client, acme, status="ACTIVE") == 2


async def test_total_count_follows_a_deleted_credential(client: httpx.AsyncClient) -> None:
    """Nothing deletes credentials today (their audit events keep them); a row without
    history can be deleted, and the count follows."""
    token = await admin_token(client)
    acme = await organisation_named("Acme Tickets")
    rows = [await Credential.create(**_columns(acme, n)) for n in range(2)]

    await rows[0].delete()

    assert await total_count(client, token) == 1


async def test_a_create_rolled_back_leaves_the_count_unchanged(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    acme = await organisation_named("Acme Tickets")
    await make_credential(organisation=acme)

    try:
        async with in_transaction():
            await make_credential(organisation=acme, name="Never committed")
            raise RuntimeError("refused after the insert")
    except RuntimeError:
        pass

    assert await Credential.filter(organisation_id=acme.id).count() == 1
    assert await total_count(client, token) == 1


async def test_concurrent_creates_in_one_organisation_are_all_counted(
    client: httpx.AsyncClient,
) -> None:
    """Each create is its own transaction; on PostgreSQL they run at once on separate
    connections, so a read-then-write count would lose some."""
    token = await admin_token(client)
    await admin_token(client, organisation="Rival Events", email="admin@rival.example")
    acme = await organisation_named("Acme Tickets")
    rival = await organisation_named("Rival Events")

    await asyncio.gather(
        *(make_credential(organisation=acme, name=f"Acme {n}") for n in range(12)),
        *(make_credential(organisation=rival, name=f"Rival {n}") for n in range(5)),
    )

    assert await total_count(client, token) == 12
    assert await credential_total(rival.id) == 5
    assert await Credential.filter(organisation_id=acme.id).count() == 12


async def test_bulk_inserts_count_through_credentials_added(client: httpx.AsyncClient) -> None:
    """`bulk_create` sends no signals; the bulk inserter adds the count in its transaction."""
    token = await admin_token(client)
    acme = await organisation_named("Acme Tickets")

    async with in_transaction():
        await Credential.bulk_create([_bare_credential(acme, n) for n in range(30)])
        await credentials_added(acme.id, 30)

    assert await total_count(client, token) == 30


async def test_migration_0014_counts_every_organisations_existing_credentials(
    tmp_path: Path,
) -> None:
    async with empty_database(tmp_path / "tally.sqlite3") as url:
        config = tortoise_config(url)
        await migrate(config=config, target="models.0013_partner_read_indexes")
        async with TortoiseContext() as context:
            await context.init(config=config)
            acme = await Organisation.create(name="Acme Tickets")
            rival = await Organisation.create(name="Rival Events")
            empty = await Organisation.create(name="No credentials yet")
            await Credential.bulk_create([_bare_credential(acme, n) for n in range(4)])
            await Credential.bulk_create([_bare_credential(rival, n) for n in range(2)])

        await apply_migrations(url)

        async with TortoiseContext() as context:
            await context.init(config=config)
            assert [await credential_total(org.id) for org in (acme, rival, empty)] == [4, 2, 0]
            await Credential.create(**_columns(acme, 99))
            assert await credential_total(acme.id) == 5


async def test_list_pages_are_read_off_the_index_in_list_order(db: TortoiseContext) -> None:
    """The first page and a page after a cursor: the plan uses the (organisation, created_at,
    id) index and sorts nothing, whatever the table's size."""
    acme = await Organisation.create(name="Acme Tickets")
    await Credential.bulk_create([_bare_credential(acme, n) for n in range(50)])
    rows = Credential.filter(organisation_id=acme.id)
    middle = (await keyset_page(rows, time_field="created_at", after=None).offset(25).limit(1))[0]
    first_page = keyset_page(rows, time_field="created_at", after=None)
    after = keyset_page(rows, time_field="created_at", after=(middle.created_at, middle.id))

    for query in (first_page.limit(21), after.limit(21)):
        plan = await _plan(query.sql(params_inline=True))
        assert "idx_credential_organis" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
        assert "Sort" not in plan, plan


async def _plan(sql: str) -> str:
    connection = connections.get("default")
    if on_postgres():
        # Small tables are read sequentially whatever the indexes; forbid that to see which
        # index the planner would walk.
        async with in_transaction() as transaction:
            await transaction.execute_script("SET LOCAL enable_seqscan = off")
            rows = await transaction.execute_query_dict(f"EXPLAIN {sql}")
        return "\n".join(str(row["QUERY PLAN"]) for row in rows)
    rows = await connection.execute_query_dict(f"EXPLAIN QUERY PLAN {sql}")
    return "\n".join(str(row["detail"]) for row in rows)


def _columns(organisation: Organisation, number: int) -> dict[str, Any]:
    return {
        "organisation_id": organisation.id,
        "name": f"Bulk {number}",
        "contact_email": "ops@partner.example",
        "client_id": new_client_id(),
        "access_level": AccessLevel.FULL,
    }


def _bare_credential(organisation: Organisation, number: int) -> Credential:
    return Credential(**_columns(organisation, number))
