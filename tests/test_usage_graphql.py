"""Usage reports in the admin GraphQL API: `Credential.usage(range)` and `Organisation.usage(range)`
over rows written straight into the usage tables, at a fixed "now".

Buckets are UTC-aligned, oldest first, the last the current one; LAST_HOUR and LAST_DAY read
minute rows (LAST_DAY summed per hour), LAST_7_DAYS and LAST_30_DAYS day rows. A row at the
range's start counts, one a bucket earlier does not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from graphql import OperationDefinitionNode, parse
from models.credential import Credential
from models.enums import Role
from models.organisation import Organisation
from models.usage import UsageMetric
from schema.document_cost import DocumentMeter
from schema.root import DEFAULT_MAX_COST, schema
from tests.helpers import admin_token, counting_queries, gql, make_credential, operation
from tests.usage_rows import DAY, EVENTS, add_address, add_count, add_error

NOW = datetime(2031, 5, 20, 14, 37, 25, tzinfo=UTC)
THIS_MINUTE = datetime(2031, 5, 20, 14, 37, tzinfo=UTC)
THIS_HOUR = datetime(2031, 5, 20, 14, 0, tzinfo=UTC)
TODAY = datetime(2031, 5, 20, tzinfo=UTC)
ORDER = "GET /partner/v1/orders/{order_id}"

USAGE = """
query Usage($id: ID!, $range: UsageRange!) {
  credential(id: $id) {
    usage(range: $range) {
      range start end bucketSeconds
      calls calls2xx calls4xx calls5xx errors rateLimited wouldHaveBeenLimited
      tokensIssued tokensRefused tokensRefusedByReason { reason count }
      distinctAddresses
      series {
        start calls calls2xx calls4xx calls5xx errors rateLimited tokensIssued tokensRefused
      }
      topOperations { operation calls errors }
      lastErrors { at operation status errorCode }
    }
  }
}
"""
ORGANISATION_USAGE = """
query OrganisationUsage($range: UsageRange!) {
  viewer {
    organisation {
      usage(range: $range) {
        calls errors rateLimited tokensIssued distinctAddresses
        series { start calls }
        topOperations { operation calls errors }
        lastErrors { at status }
        topCredentialsByCalls { credential { id name } calls errors }
        topCredentialsByErrors { credential { id name } calls errors }
      }
    }
  }
}
"""
PAGE_USAGE = """
query Page($range: UsageRange!) {
  credentials(first: 50) {
    edges {
      node {
        id
        usage(range: $range) {
          calls errors distinctAddresses
          series { calls }
          topOperations { operation calls }
          lastErrors { status }
        }
      }
    }
  }
}
"""


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every usage report of the tests ends at NOW."""
    monkeypatch.setattr("schema.context.utcnow", lambda: NOW)


async def acme(client: httpx.AsyncClient, role: Role = Role.ADMIN) -> tuple[str, Organisation]:
    token = await admin_token(client, role=role)
    return token, await Organisation.get(name="Acme Tickets")


async def credential(organisation: Organisation, name: str = "Box office") -> Credential:
    return (await make_credential(organisation=organisation, name=name)).credential


async def usage(
    client: httpx.AsyncClient, token: str, credential_id: object, usage_range: str
) -> dict[str, Any]:
    body = await gql(client, USAGE, {"id": str(credential_id), "range": usage_range}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["credential"]["usage"]
    return result


async def organisation_usage(
    client: httpx.AsyncClient, token: str, usage_range: str
) -> dict[str, Any]:
    body = await gql(client, ORGANISATION_USAGE, {"range": usage_range}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["viewer"]["organisation"]["usage"]
    return result


def iso(moment: datetime) -> str:
    return moment.isoformat()


def calls_by_start(series: list[dict[str, Any]]) -> dict[str, int]:
    return {point["start"]: point["calls"] for point in series if point["calls"]}


async def test_last_hour_is_60_minutes_counting_the_first_minute_not_the_one_before(
    client: httpx.AsyncClient,
) -> None:
    token, org = await acme(client)
    box = await credential(org)
    first = THIS_MINUTE - timedelta(minutes=59)
    await add_count(box, first - timedelta(minutes=1), 1000)  # just before the range
    await add_count(box, first, 3)
    await add_count(box, THIS_MINUTE - timedelta(minutes=30), 5, status_class="4xx")
    await add_count(box, THIS_MINUTE, 7, status_class="5xx")
    await add_count(box, THIS_MINUTE, 100, granularity=DAY)  # day rows are not read

    shown = await usage(client, token, box.id, "LAST_HOUR")

    assert (shown["range"], shown["bucketSeconds"]) == ("LAST_HOUR", 60)
    assert shown["start"] == iso(first)
    assert shown["end"] == iso(THIS_MINUTE + timedelta(minutes=1))
    series = shown["series"]
    assert [point["start"] for point in series] == [
        iso(first + timedelta(minutes=index)) for index in range(60)
    ]
    assert calls_by_start(series) == {
        iso(first): 3,
        iso(THIS_MINUTE - timedelta(minutes=30)): 5,
        iso(THIS_MINUTE): 7,
    }
    assert series[-1] == {
        "start": iso(THIS_MINUTE),
        "calls": 7,
        "calls2xx": 0,
        "calls4xx": 0,
        "calls5xx": 7,
        "errors": 7,
        "rateLimited": 0,
        "tokensIssued": 0,
        "tokensRefused": 0,
    }
    assert series[1]["calls"] == 0  # an empty minute is a zero, not a gap
    assert (shown["calls"], shown["calls2xx"], shown["calls4xx"], shown["calls5xx"]) == (
        15,
        3,
        5,
        7,
    )
    assert shown["errors"] == 12


async def test_last_day_sums_each_hours_minute_rows(client: httpx.AsyncClient) -> None:
    token, org = await acme(client)
    box = await credential(org)
    first = THIS_HOUR - timedelta(hours=23)
    await add_count(box, first - timedelta(minutes=1), 1000)  # 14:59 the day before
    await add_count(box, first, 1)  # the range's first minute
    await add_count(box, first + timedelta(minutes=59), 2)  # the first hour's last minute
    await add_count(box, THIS_HOUR - timedelta(minutes=1), 4)  # 13:59: the hour before
    await add_count(box, THIS_HOUR + timedelta(minutes=5), 8)
    await add_count(box, THIS_MINUTE, 16)
    await add_count(box, TODAY, 500, granularity=DAY)

    shown = await usage(client, token, box.id, "LAST_DAY")

    assert (shown["start"], shown["end"], shown["bucketSeconds"]) == (
        iso(first),
        iso(THIS_HOUR + timedelta(hours=1)),
        3600,
    )
    assert [point["start"] for point in shown["series"]] == [
        iso(first + timedelta(hours=index)) for index in range(24)
    ]
    assert calls_by_start(shown["series"]) == {
        iso(first): 3,
        iso(THIS_HOUR - timedelta(hours=1)): 4,
        iso(THIS_HOUR): 24,
    }
    assert shown["calls"] == 31


@pytest.mark.parametrize(("usage_range", "days"), [("LAST_7_DAYS", 7), ("LAST_30_DAYS", 30)])
async def test_day_ranges_read_day_rows_from_the_first_day(
    client: httpx.AsyncClient, usage_range: str, days: int
) -> None:
    token, org = await acme(client)
    box = await credential(org)
    first = TODAY - timedelta(days=days - 1)
    await add_count(box, first - timedelta(days=1), 1000, granularity=DAY)
    await add_count(box, first, 3, granularity=DAY)
    await add_count(box, TODAY, 5, granularity=DAY, status_class="4xx")
    await add_count(box, THIS_MINUTE, 700)  # minute rows are not read

    shown = await usage(client, token, box.id, usage_range)

    assert (shown["start"], shown["end"], shown["bucketSeconds"]) == (
        iso(first),
        iso(TODAY + timedelta(days=1)),
        86400,
    )
    assert len(shown["series"]) == days
    assert shown["series"][0]["start"] == iso(first)
    assert calls_by_start(shown["series"]) == {iso(first): 3, iso(TODAY): 5}
    assert (shown["calls"], shown["errors"]) == (8, 5)


async def test_limits_tokens_and_refusal_reasons_are_counted_apart(
    client: httpx.AsyncClient,
) -> None:
    token, org = await acme(client)
    box = await credential(org)
    await add_count(box, THIS_MINUTE, 4, metric=UsageMetric.RATE_LIMITED, operation=EVENTS)
    await add_count(box, THIS_MINUTE, 6, metric=UsageMetric.WOULD_LIMIT, operation=EVENTS)
    await add_count(box, THIS_MINUTE, 9, metric=UsageMetric.TOKEN_ISSUED)
    for reason, count in (("invalid_client", 2), ("rate_limited", 5), ("ip_not_allowed", 2)):
        await add_count(box, THIS_MINUTE, count, metric=UsageMetric.TOKEN_REFUSED, reason=reason)

    shown = await usage(client, token, box.id, "LAST_HOUR")

    assert shown["rateLimited"] == 4
    assert shown["wouldHaveBeenLimited"] == 6
    assert (shown["tokensIssued"], shown["tokensRefused"]) == (9, 9)
    assert shown["tokensRefusedByReason"] == [
        {"reason": "rate_limited", "count": 5},
        {"reason": "invalid_client", "count": 2},
        {"reason": "ip_not_allowed", "count": 2},
    ]
    assert (shown["series"][-1]["rateLimited"], shown["series"][-1]["tokensRefused"]) == (4, 9)
    assert shown["calls"] == 0  # none of these is a call answered


async def test_top_operations_are_the_ten_with_most_calls_with_their_errors(
    client: httpx.AsyncClient,
) -> None:
    token, org = await acme(client)
    box = await credential(org)
    for index in range(12):
        await add_count(box, THIS_MINUTE, 10 + index, operation=f"GET /partner/v1/op{index:02}")
    await add_count(box, THIS_MINUTE - timedelta(minutes=1), 30, operation=ORDER)
    await add_count(box, THIS_MINUTE, 6, operation=ORDER, status_class="4xx")
    await add_count(box, THIS_MINUTE, 1, operation=ORDER, status_class="5xx")

    top = (await usage(client, token, box.id, "LAST_HOUR"))["topOperations"]

    assert top[0] == {"operation": ORDER, "calls": 37, "errors": 7}
    assert [entry["operation"] for entry in top[1:]] == [
        f"GET /partner/v1/op{index:02}" for index in range(11, 2, -1)
    ]
    assert top[1] == {"operation": "GET /partner/v1/op11", "calls": 21, "errors": 0}


async def test_last_errors_are_the_twenty_newest_within_the_range(
    client: httpx.AsyncClient,
) -> None:
    token, org = await acme(client)
    box = await credential(org)
    first = THIS_MINUTE - timedelta(minutes=59)
    await add_error(box, first - timedelta(seconds=1), status=500, error_code="too_old")
    for index in range(25):
        await add_error(box, first + timedelta(minutes=index), status=400 + index)

    errors = (await usage(client, token, box.id, "LAST_HOUR"))["lastErrors"]

    assert len(errors) == 20
    assert [entry["status"] for entry in errors] == list(range(424, 404, -1))
    assert errors[0] == {
        "at": iso(first + timedelta(minutes=24)),
        "operation": ORDER,
        "status": 424,
        "errorCode": "not_found",
    }
    day = (await usage(client, token, box.id, "LAST_DAY"))["lastErrors"]
    assert "too_old" not in {entry["errorCode"] for entry in day}  # 20 newer ones come first


async def test_distinct_addresses_count_each_address_once_over_the_range(
    client: httpx.AsyncClient,
) -> None:
    token, org = await acme(client)
    box = await credential(org)
    other = await credential(org, "Reseller")
    for minute in (0, 1, 2):
        await add_address(box, THIS_MINUTE - timedelta(minutes=minute), "203.0.113.5")
    await add_address(box, THIS_MINUTE, "2001:db8::1")
    await add_address(box, THIS_MINUTE - timedelta(minutes=60), "198.51.100.9")  # before
    await add_address(other, THIS_MINUTE, "192.0.2.44")

    assert (await usage(client, token, box.id, "LAST_HOUR"))["distinctAddresses"] == 2
    assert (await usage(client, token, box.id, "LAST_DAY"))["distinctAddresses"] == 3
    assert (await organisation_usage(client, token, "LAST_HOUR"))["distinctAddresses"] == 3


async def test_organisation_usage_sums_credentials_and_ranks_them(
    client: httpx.AsyncClient,
) -> None:
    token, org = await acme(client)
    credentials = [await credential(org, f"Partner {index:02}") for index in range(12)]
    for index, one in enumerate(credentials):
        await add_count(one, THIS_MINUTE, 100 + index)
        if index % 4 == 0:
            await add_count(one, THIS_MINUTE, index + 1, status_class="5xx")
        await add_error(one, NOW - timedelta(seconds=index), status=500 + index)

    shown = await organisation_usage(client, token, "LAST_HOUR")

    assert shown["calls"] == sum(100 + index for index in range(12)) + 1 + 5 + 9
    assert shown["errors"] == 15
    assert calls_by_start(shown["series"]) == {iso(THIS_MINUTE): shown["calls"]}
    assert shown["topOperations"][0] == {"operation": EVENTS, "calls": shown["calls"], "errors": 15}
    by_calls = shown["topCredentialsByCalls"]
    assert len(by_calls) == 10
    assert [rank["credential"]["name"] for rank in by_calls[:2]] == ["Partner 08", "Partner 11"]
    assert by_calls[0] == {
        "credential": {"id": str(credentials[8].id), "name": "Partner 08"},
        "calls": 117,
        "errors": 9,
    }
    assert [
        (rank["credential"]["name"], rank["errors"]) for rank in shown["topCredentialsByErrors"]
    ] == [("Partner 08", 9), ("Partner 04", 5), ("Partner 00", 1)]
    assert [entry["status"] for entry in shown["lastErrors"]] == list(range(500, 512))


async def test_another_organisations_usage_is_never_counted(client: httpx.AsyncClient) -> None:
    token, org = await acme(client)
    box = await credential(org)
    rival = await Organisation.create(name="Rival Tickets")
    theirs = await credential(rival, "Their partner")
    await add_count(box, THIS_MINUTE, 2)
    await add_count(theirs, THIS_MINUTE, 50, status_class="4xx")
    await add_address(theirs, THIS_MINUTE, "192.0.2.1")
    await add_error(theirs, NOW)

    mine = await organisation_usage(client, token, "LAST_HOUR")

    assert (mine["calls"], mine["errors"], mine["distinctAddresses"]) == (2, 0, 0)
    assert mine["lastErrors"] == []
    assert [rank["credential"]["name"] for rank in mine["topCredentialsByCalls"]] == ["Box office"]
    assert mine["topCredentialsByErrors"] == []
    foreign = await gql(client, USAGE, {"id": str(theirs.id), "range": "LAST_HOUR"}, token=token)
    assert foreign == {"data": {"credential": None}}


async def test_a_viewer_reads_usage(client: httpx.AsyncClient) -> None:
    token, org = await acme(client, role=Role.VIEWER)
    box = await credential(org)
    await add_count(box, THIS_MINUTE, 3)

    assert (await usage(client, token, box.id, "LAST_DAY"))["calls"] == 3
    assert (await organisation_usage(client, token, "LAST_DAY"))["calls"] == 3
    body = await gql(client, operation("OrganisationUsage"), {"range": "LAST_DAY"}, token=token)
    assert body["data"]["viewer"]["organisation"]["usage"]["calls"] == 3, body


async def page_of_usage(
    client: httpx.AsyncClient, token: str, usage_range: str
) -> dict[str, dict[str, Any]]:
    body = await gql(client, PAGE_USAGE, {"range": usage_range}, token=token)
    assert "errors" not in body, body
    return {
        edge["node"]["id"]: edge["node"]["usage"] for edge in body["data"]["credentials"]["edges"]
    }


async def busy_credential(organisation: Organisation, index: int) -> Credential:
    """A credential with `index + 1` calls, `index` errors, one address and `index % 3` errors
    recorded, in the last hour."""
    one = await credential(organisation, f"Partner {index}")
    await add_count(one, THIS_MINUTE - timedelta(minutes=index), index + 1)
    await add_count(one, THIS_MINUTE, index, status_class="4xx", operation=ORDER)
    await add_address(one, THIS_MINUTE, f"203.0.113.{index}")
    for second in range(index % 3):
        await add_error(one, NOW - timedelta(seconds=second))
    return one


async def test_a_page_of_usage_costs_the_same_queries_for_2_and_for_12_credentials(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, org = await acme(client)
    credentials = [await busy_credential(org, index) for index in range(2)]
    with counting_queries(monkeypatch) as small:
        assert len(await page_of_usage(client, token, "LAST_DAY")) == 2
    credentials += [await busy_credential(org, index) for index in range(2, 12)]
    with counting_queries(monkeypatch) as large:
        many = await page_of_usage(client, token, "LAST_DAY")

    # The session, the page, its secrets, the policy, and the four parts of the usage (these
    # credentials were made by the system: no creators to read).
    assert len(small) == len(large) == 8, (small, large)
    assert len(many) == 12
    for index, one in enumerate(credentials):
        shown = many[str(one.id)]
        assert (shown["calls"], shown["errors"]) == (2 * index + 1, index)
        assert shown["distinctAddresses"] == 1
        assert sum(point["calls"] for point in shown["series"]) == 2 * index + 1
        assert len(shown["lastErrors"]) == index % 3


async def test_counts_beyond_a_graphql_int_show_as_the_largest_int(
    client: httpx.AsyncClient,
) -> None:
    token, org = await acme(client)
    box = await credential(org)
    await add_count(box, TODAY, 3_000_000_000, granularity=DAY)

    shown = await usage(client, token, box.id, "LAST_30_DAYS")

    assert shown["calls"] == 2**31 - 1
    assert shown["series"][-1]["calls"] == 2**31 - 1


def test_a_page_asking_for_series_is_priced_at_60_buckets_each() -> None:
    document = parse(
        "query { credentials(first: 100) { edges { node { "
        "usage(range: LAST_HOUR) { series { calls } } } } } }"
    )
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    meter = DocumentMeter(schema._schema, page_size_max=100, default_page_size=20)
    (measured,) = meter.measure(operations, [])
    assert measured.measure.cost >= 100 * 60
    assert measured.measure.cost <= DEFAULT_MAX_COST
