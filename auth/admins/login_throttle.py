"""Admin login throttling: slows guessing, and cannot be used to lock an admin out (GQ-10, GQ-15).

Failed logins are counted three ways over one window (`login_throttle_window_seconds`):

- per (account, address), limit `login_max_failures_per_account`: one place guessing at one
  account is refused for that account;
- per address, limit `login_max_failures_per_address`: one place spraying many accounts is
  refused for every account;
- per account, limit `login_max_failures_per_account`: many places guessing at one account are
  refused, except addresses that signed in to that account successfully within the last
  `KNOWN_ADDRESS_DAYS` days.

The exception is what stops an attacker who knows an admin's e-mail from locking them out: the
attacker's failures use up the attacker's own budgets and the budget of addresses new to that
account, never the addresses the admin signs in from. It is the "recognised device" rule GitHub
applies, keyed on the address because an admin has no device cookie before they sign in. An
attacker still gets no more guesses per window at an account than a per-account lock allows,
unless they share an address with the admin. We prefer it to slowing the account down: a delay
an attacker keeps at its maximum is a lock-out for the person at the keyboard, and a delay held
in the server costs a connection per attempt. The price is that an admin on an address they have
not signed in from for `KNOWN_ADDRESS_DAYS` days waits out the window while under attack.

A correct sign-in clears its (account, address) count, so a known address can make its own typos
again, but not the account count, which would hand an attacker a fresh budget each time the
admin signs in. Unknown e-mails are counted and refused exactly like real ones, and no address is
ever known for them, so throttling does not reveal which e-mails exist (GQ-10).

An admin API token (`pat_…`) names no account, so a failed presentation (malformed, unknown,
revoked, expired) counts against its address alone, in the same per-address budget as failed
passwords, and an address over that budget is refused before its token is looked up
(`address_retry_after`, `address_failed`; auth/admins/api_tokens.py). Other addresses are
untouched, so GQ-15 holds for tokens too.
"""

from __future__ import annotations

from redis.asyncio import Redis

from auth.admins.known_addresses import KnownAddresses, known_addresses
from partner_api.foundation.settings import Settings
from partner_api.foundation.throttle import CounterFactory, WindowCounter

KNOWN_ADDRESS_DAYS = 30
# A missing client address (no peer in the ASGI scope) is one shared bucket, never a known one.
UNKNOWN_ADDRESS = "unknown"


class LoginThrottle:
    """Asked before each password check (`retry_after`) and told its outcome (`failed`,
    `succeeded`); `account` is the normalised e-mail, `address` the client's address."""

    def __init__(
        self,
        *,
        by_account_address: WindowCounter,
        by_address: WindowCounter,
        by_account: WindowCounter,
        known: KnownAddresses,
    ) -> None:
        self._by_account_address = by_account_address
        self._by_address = by_address
        self._by_account = by_account
        self._known = known

    async def retry_after(self, account: str, address: str | None) -> int:
        """Seconds this address must wait before trying this account; 0 to go ahead."""
        address_key = address or UNKNOWN_ADDRESS
        pair_key = f"{account}\x00{address_key}"
        wait = max(
            await self._by_account_address.retry_after(pair_key),
            await self._by_address.retry_after(address_key),
        )
        if wait or (address and await self._known.recalls(pair_key)):
            return wait
        return await self._by_account.retry_after(account)

    async def failed(self, account: str, address: str | None) -> None:
        address_key = address or UNKNOWN_ADDRESS
        await self._by_account_address.record(f"{account}\x00{address_key}")
        await self._by_address.record(address_key)
        await self._by_account.record(account)

    async def address_retry_after(self, address: str | None) -> int:
        """Seconds this address must wait before presenting an API token; 0 to go ahead."""
        return await self._by_address.retry_after(address or UNKNOWN_ADDRESS)

    async def address_failed(self, address: str | None) -> None:
        """A failed API token presentation: counted for the address only (it names no account)."""
        await self._by_address.record(address or UNKNOWN_ADDRESS)

    async def succeeded(self, account: str, address: str | None) -> None:
        pair_key = f"{account}\x00{address or UNKNOWN_ADDRESS}"
        await self._by_account_address.reset(pair_key)
        if address:
            await self._known.remember(pair_key)


def login_throttle(
    settings: Settings, counters: CounterFactory, redis: Redis | None
) -> LoginThrottle:
    window = settings.login_throttle_window_seconds
    per_account = settings.login_max_failures_per_account
    return LoginThrottle(
        by_account_address=counters(
            name="login-failures-account-address", limit=per_account, window_seconds=window
        ),
        by_address=counters(
            name="login-failures-address",
            limit=settings.login_max_failures_per_address,
            window_seconds=window,
        ),
        by_account=counters(
            name="login-failures-account", limit=per_account, window_seconds=window
        ),
        known=known_addresses(redis, remember_seconds=KNOWN_ADDRESS_DAYS * 24 * 60 * 60),
    )
