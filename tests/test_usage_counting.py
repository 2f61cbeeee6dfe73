"""Usage counted per credential (issue 16): a scripted mix of token requests and Partner API
calls through the real app, flushed, and read straight from the usage rows; two app instances
adding up; counting off; a failed flush keeping its counts; nothing about a credential in the
Prometheus exposition. Bucket roll-over and the memory bounds: tests/test_usage_buckets.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC
from uuid import uuid4

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.partners import usage_counts, usage_store
from auth.partners.signing_keys import rotate_signing_key
from auth.partners.usage_counts import UsageCounts
from models.credential import Credential
from models.enums import AccessLevel
from models.organisation import Organisation
from models.usage import Granularity, UsageAddress, UsageCount, UsageError
from partner_api.foundation.clock import utcnow
from partner_api.foundation.metrics import exposition
from partner_api.foundation.settings import Settings
from partner_api.operations.credentials import IssuedSecret
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import make_admin, make_credential, wrong_secret_for

ME = "GET /partner/v1/me"
ORDERS = "GET /partner/v1/orders"
EVENT = "GET /partner/v1/events/{event_id}"
RATE_LIMIT = 9

Row = tuple[str, str, str, str]  # (metric, operation, status class, reason)


def client_of(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 51234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def totals(credential_id: object, granularity: Granularity) -> Counter[Row]:
    """The credential's counts summed over every bucket of `granularity`."""
    found: Counter[Row] = Counter()
    for row in await UsageCount.filter(credential_id=credential_id, granularity=granularity.value):
        found[(row.metric, row.operation, row.status_class, row.reason)] += row.count
    return found


async def token_response(
    client: httpx.AsyncClient, client_id: str, secret: str, **form: str
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **form},
        auth=(client_id, secret),
    )


async def scripted_mix(client: httpx.AsyncClient, issued: IssuedSecret) -> None:
    """3 tokens issued; refused: 2 wrong secrets, 1 invalid scope, 1 unknown client ID; calls:
    5 x /me 200, 2 x /orders 403, 2 x /events/{id} 404, then /me 429 (limit 9)."""
    client_id, secret = issued.credential.client_id, issued.secret_value
    tokens = []
    for _ in range(3):
        response = await token_response(client, client_id, secret)
        assert response.status_code == 200, response.text
        tokens.append(response.json()["access_token"])
    for _ in range(2):
        response = await token_response(client, client_id, wrong_secret_for(secret))
        assert response.status_code == 401
    response = await token_response(client, client_id, secret, scope="orders:write")
    assert response.json()["error"] == "invalid_scope"
    response = await token_response(client, "pcl_nobody_at_all", secret)
    assert response.status_code == 401
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    for _ in range(5):
        assert (await client.get("/partner/v1/me", headers=headers)).status_code == 200
    for _ in range(2):
        assert (await client.get("/partner/v1/orders", headers=headers)).status_code == 403
    for _ in range(2):
        missing = f"/partner/v1/events/{uuid4()}"
        assert (await client.get(missing, headers=headers)).status_code == 404
    assert (await client.get("/partner/v1/me", headers=headers)).status_code == 429


EXPECTED: Counter[Row] = Counter(
    {
        ("token_issued", "", "", ""): 3,
        ("token_refused", "", "", "wrong_secret"): 2,
        ("token_refused", "", "", "invalid_scope"): 1,
        ("call", ME, "2xx", ""): 5,
        ("call", ORDERS, "4xx", ""): 2,
        ("call", EVENT, "4xx", ""): 2,
        ("call", ME, "4xx", ""): 1,
        ("rate_limited", ME, "", ""): 1,
    }
)


@pytest.fixture
async def organisation(db: TortoiseContext) -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


@pytest.fixture
async def issued(organisation: Organisation) -> IssuedSecret:
    """A credential that may read events only, limited to 9 calls a minute."""
    issued = await make_credential(
        organisation=organisation,
        access_level=AccessLevel.FINE_GRAINED,
        scopes=["events:read"],
    )
    await Credential.filter(id=issued.credential.id).update(rate_limit_per_minute=RATE_LIMIT)
    return issued


async def test_a_scripted_mix_is_counted_exactly_in_minute_and_day_rows(
    app: Starlette, client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    await scripted_mix(client, issued)
    assert await UsageCount.all().count() == 0  # nothing written before the flush
    assert await app.state.services.authorization_server.counts.flush()

    credential_id = issued.credential.id
    assert await totals(credential_id, Granularity.MINUTE) == EXPECTED
    assert await totals(credential_id, Granularity.DAY) == EXPECTED
    rows = await UsageCount.filter(credential_id=credential_id)
    assert {row.organisation_id for row in rows} == {issued.credential.organisation_id}  # type: ignore[attr-defined]
    for row in rows:
        start = row.bucket_start.astimezone(UTC)
        assert (start.second, start.microsecond) == (0, 0)
        if row.granularity == Granularity.DAY.value:
            assert (start.hour, start.minute) == (0, 0)

    addresses = await UsageAddress.filter(credential_id=credential_id)
    assert {row.address for row in addresses} == {CLIENT_ADDRESS}
    assert {row.granularity for row in addresses} == {"m", "d"}
    errors = await UsageError.filter(credential_id=credential_id).order_by("occurred_at", "id")
    assert [(row.operation, row.status, row.error_code) for row in errors] == [
        (ORDERS, 403, "insufficient_scope"),
        (ORDERS, 403, "insufficient_scope"),
        (EVENT, 404, "not_found"),
        (EVENT, 404, "not_found"),
        (ME, 429, "rate_limited"),
    ]

    # A second flush with nothing new adds nothing; new calls add to the same rows.
    assert await app.state.services.authorization_server.counts.flush()
    assert await totals(credential_id, Granularity.DAY) == EXPECTED


async def test_two_processes_counting_the_same_credential_add_up(
    settings: Settings, db: TortoiseContext, issued: IssuedSecret, app: Starlette
) -> None:
    """Two app instances (as two processes) on one database: each flushes its own deltas."""
    other = create_app(settings, manage_database=False)
    async with client_of(app) as first, client_of(other) as second:
        for client in (first, second, first):
            response = await token_response(
                client, issued.credential.client_id, issued.secret_value
            )
            assert response.status_code == 200
            headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
            assert (await client.get("/partner/v1/me", headers=headers)).status_code == 200
            for instance in (app, other):
                assert await instance.state.services.authorization_server.counts.flush()
    found = await totals(issued.credential.id, Granularity.DAY)
    assert found == Counter({("token_issued", "", "", ""): 3, ("call", ME, "2xx", ""): 3})


async def test_counting_off_writes_no_rows(
    settings: Settings, db: TortoiseContext, issued: IssuedSecret
) -> None:
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    off = replace(settings, usage=replace(settings.usage, counting=False))
    app = create_app(off, manage_database=False)
    async with client_of(app) as client:
        await scripted_mix(client, issued)
    counts = app.state.services.authorization_server.counts
    assert await counts.flush()
    await counts.housekeeping()
    assert await UsageCount.all().count() == 0
    assert await UsageAddress.all().count() == 0
    assert await UsageError.all().count() == 0


async def test_a_failed_flush_keeps_its_counts_for_the_next(
    app: Starlette,
    client: httpx.AsyncClient,
    issued: IssuedSecret,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts: UsageCounts = app.state.services.authorization_server.counts
    original = usage_store.write_usage

    async def unavailable(pending: object) -> None:
        raise ConnectionError("database unreachable")

    await scripted_mix(client, issued)
    monkeypatch.setattr(usage_counts, "write_usage", unavailable)
    assert not await counts.flush()
    # Requests go on while the database is away, and are counted too.
    response = await token_response(client, issued.credential.client_id, issued.secret_value)
    assert response.status_code == 200
    assert not await counts.flush()
    assert await UsageCount.all().count() == 0

    monkeypatch.setattr(usage_counts, "write_usage", original)
    assert await counts.flush()
    expected = EXPECTED + Counter({("token_issued", "", "", ""): 1})
    assert await totals(issued.credential.id, Granularity.MINUTE) == expected
    assert await totals(issued.credential.id, Granularity.DAY) == expected
    assert await UsageError.filter(credential_id=issued.credential.id).count() == 5


async def test_a_failing_write_rolls_back_everything_it_wrote(
    app: Starlette,
    client: httpx.AsyncClient,
    issued: IssuedSecret,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The counts are written, then the errors fail: nothing stays, and the retry is exact."""
    counts: UsageCounts = app.state.services.authorization_server.counts
    await scripted_mix(client, issued)
    good = usage_store._ADD_ERRORS
    monkeypatch.setattr(usage_store, "_ADD_ERRORS", good.replace("usage_error", "no_such_table"))
    assert not await counts.flush()
    assert await UsageCount.all().count() == 0
    monkeypatch.setattr(usage_store, "_ADD_ERRORS", good)
    assert await counts.flush()
    assert await totals(issued.credential.id, Granularity.DAY) == EXPECTED


async def test_no_credential_or_client_id_in_the_prometheus_exposition(
    app: Starlette, client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    await scripted_mix(client, issued)
    assert await app.state.services.authorization_server.counts.flush()
    text = exposition().decode()
    credential = issued.credential
    for secret in (
        credential.client_id,
        str(credential.id),
        str(credential.organisation_id),  # type: ignore[attr-defined]
        issued.secret_value,
    ):
        assert secret not in text
    assert 'partner_api_usage_flushes_total{outcome="written"}' in text
