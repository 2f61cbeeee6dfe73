"""An event-restricted `TenantScope` reaches only its events and what belongs to them, in the data
access like the organisation itself: everything else answers like another organisation's data."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from tortoise.context import TortoiseContext

from models.organisation import Organisation
from models.tenancy import TenantScope
from models.ticketing import Event, Order
from tests.test_partner_events import BASE_TIME, make_event, make_product, organisation
from tests.test_partner_orders import make_order


@dataclass(frozen=True)
class World:
    organisation: Organisation
    allowed: Event
    outside: Event
    foreign: Event
    allowed_order: Order
    outside_order: Order
    foreign_order: Order

    def restricted(self) -> TenantScope:
        return TenantScope(self.organisation.id, frozenset({self.allowed.id}))


@pytest.fixture
async def world(db: TortoiseContext) -> World:
    org = await organisation("Acme Tickets")
    other = await organisation("Other Tickets")
    allowed = await make_event(org, name="Allowed")
    outside = await make_event(org, name="Outside")
    foreign = await make_event(other, name="Foreign")
    orders = [
        await make_order(owner, event, await make_product(event), created_at=BASE_TIME)
        for owner, event in ((org, allowed), (org, outside), (other, foreign))
    ]
    return World(org, allowed, outside, foreign, *orders)


async def test_a_restricted_scope_lists_only_its_events_products_and_orders(world: World) -> None:
    scope = world.restricted()
    assert [event.id for event in await scope.events()] == [world.allowed.id]
    products = await scope.products().values_list("event_id", flat=True)
    assert set(products) == {world.allowed.id}
    assert [order.id for order in await scope.orders()] == [world.allowed_order.id]


async def test_an_event_or_order_outside_the_restriction_is_none_like_a_foreign_one(
    world: World,
) -> None:
    scope = world.restricted()
    for event, order in (
        (world.outside, world.outside_order),
        (world.foreign, world.foreign_order),
    ):
        assert await scope.event(str(event.id)) is None
        assert await scope.order(str(order.id)) is None
    assert await scope.event(str(world.allowed.id)) is not None
    assert await scope.order(str(world.allowed_order.id)) is not None


async def test_an_unrestricted_scope_is_the_whole_organisation(world: World) -> None:
    scope = TenantScope(world.organisation.id)
    assert len(await scope.events()) == 2
    assert len(await scope.orders()) == 2
    assert await scope.event(str(world.foreign.id)) is None
