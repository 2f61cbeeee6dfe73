"""How many credentials each organisation has, kept exact as credentials are created and deleted.

The admin page asks for `credentials { totalCount }` on every load. Counting the rows instead
reads the organisation's whole slice of the credential index on every request: 15-30 ms at
100,000 credentials on SQLite, several times the rest of the page (docs/benchmarks.md, "Admin list
at scale"). So the count is stored, one row per organisation, and changed in the same transaction
as the credential row itself:

- exact: the row and its count commit or roll back together, so a create that fails after its
  insert takes its increment with it;
- concurrent creates add up: the change is one statement, `credentials = credentials + n` (an
  upsert), never a read followed by a write. On PostgreSQL the statement locks the organisation's
  row until the transaction ends, so two creates in one organisation add one after the other (and
  creates in different organisations never wait for each other); SQLite has one writer at a time.
- no row means zero: a new organisation gets its row with its first credential, and migration
  0014 counted the credentials of the organisations that existed before.

Every credential Tortoise inserts with `save()` (so `Credential.create`, whoever calls it: the
create operations, `seed-demo`, tests) or deletes one at a time passes through the signals below.
`bulk_create` and `QuerySet.delete()` send no signals: code that inserts or deletes credentials in
bulk calls `credentials_added` itself, in its own transaction (the benchmarks' seeding does).

Revoking or expiring a credential does not change the count: the list shows every credential,
whatever its status. A status-filtered list counts in SQL (resolvers/credentials.py): status
follows the clock (expiry needs no job), so no stored count can follow it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.signals import post_delete, post_save

from models.compiled_select import CompiledSelect
from models.credential import Credential

if TYPE_CHECKING:
    from models.organisation import Organisation


class CredentialTally(Model):
    # A surrogate key: Tortoise 1.1's migration state records a one-to-one primary key under
    # another name than the model does, so `makemigrations` would never settle. The upsert below
    # relies on the one-to-one's unique constraint instead.
    id = fields.IntField(primary_key=True)
    organisation: fields.OneToOneRelation[Organisation] = fields.OneToOneField(
        "models.Organisation", related_name=False, on_delete=fields.CASCADE
    )
    credentials = fields.IntField(default=0)

    class Meta:
        table = "credential_tally"


# One statement for both dialects (SQLite ≥ 3.24 and PostgreSQL share the upsert syntax); only
# the placeholders differ.
_ADD = (
    "INSERT INTO credential_tally (organisation_id, credentials) VALUES ({org}, {n}) "
    "ON CONFLICT (organisation_id) DO UPDATE "
    "SET credentials = credential_tally.credentials + excluded.credentials"
)
_ADD_POSTGRES = _ADD.format(org="$1", n="$2")
_ADD_SQLITE = _ADD.format(org="?", n="?")


async def credentials_added(
    organisation_id: UUID, count: int, *, connection: BaseDBAsyncClient | None = None
) -> None:
    """Add `count` (negative: remove) to the organisation's credentials. Call it on the
    connection, or inside the transaction, that inserted or deleted them."""
    db = connection or CredentialTally._choose_db(for_write=True)
    if db.capabilities.dialect == "postgres":
        await db.execute_query(_ADD_POSTGRES, [organisation_id, count])
    else:
        await db.execute_query(_ADD_SQLITE, [str(organisation_id), count])


# Read on every load of the admin page: its SQL is built once (models/compiled_select.py).
_TALLY = CompiledSelect(
    CredentialTally,
    lambda organisation_id: CredentialTally.filter(organisation_id=organisation_id),
)


async def credential_total(organisation_id: UUID) -> int:
    """The organisation's credentials, every status: one primary-key read."""
    rows = await _TALLY.fetch(organisation_id)
    return rows[0].credentials if rows else 0


@post_save(Credential)
async def _created(
    sender: type[Credential],
    instance: Credential,
    created: bool,
    using_db: BaseDBAsyncClient | None,
    update_fields: Any,
) -> None:
    if created:
        await credentials_added(instance.organisation_id, 1, connection=using_db)  # type: ignore[attr-defined]


@post_delete(Credential)
async def _deleted(
    sender: type[Credential], instance: Credential, using_db: BaseDBAsyncClient | None
) -> None:
    await credentials_added(instance.organisation_id, -1, connection=using_db)  # type: ignore[attr-defined]
