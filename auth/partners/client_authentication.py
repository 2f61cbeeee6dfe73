"""Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3):
the presented secret verified (auth.partners.client_secrets), failures throttled, refusals recorded.

Failures are counted per (client ID, address) and per address (TE-20); a throttled caller gets
429 before its secret is looked at, and a partner authenticating from its own address is not
locked out by an attacker elsewhere. Every refusal is the same `InvalidClient` (TE-14, CR-05),
is logged with its reason, and is audited for a known client ID through the usage recorder's
aggregate, which resolves client IDs when it flushes: refusing costs no database query. Refusals
(and requests throttled before their secret is looked at, reason `throttled`) are counted in the
credential's usage the same way (auth/partners/usage_counts.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from auth.partners.client_auth import PresentedClient
from auth.partners.client_secrets import AuthenticatedClient, verify_client
from auth.partners.credential_directory import CredentialDirectory
from auth.partners.keyed_hash import KeyedHasher
from auth.partners.oauth_errors import InvalidClient, TooManyRequests
from auth.partners.usage import UsageRecorder
from auth.partners.usage_counts import UsageCounts
from partner_api.foundation.metrics import count_client_authentication_failure
from partner_api.foundation.settings import Settings
from partner_api.foundation.throttle import CounterFactory

logger = logging.getLogger("partner_api.oauth")
# The longest client ID we issue; a longer presented one cannot name a credential.
CLIENT_ID_MAX_LENGTH = 64


class ClientAuthenticator:
    def __init__(
        self,
        settings: Settings,
        hasher: KeyedHasher,
        counters: CounterFactory,
        *,
        directory: CredentialDirectory,
        usage: UsageRecorder,
        counts: UsageCounts,
    ) -> None:
        self._hasher = hasher
        self._directory = directory
        self._usage = usage
        self._counts = counts
        window = settings.token_failure_window_seconds
        self._failures_by_client_address = counters(
            name="token-failures-client-address",
            limit=settings.token_max_failures_per_client_address,
            window_seconds=window,
        )
        self._failures_by_address = counters(
            name="token-failures-address",
            limit=settings.token_max_failures_per_address,
            window_seconds=window,
        )

    async def authenticate(
        self, presented: PresentedClient, *, client_ip: str | None, now: datetime
    ) -> AuthenticatedClient:
        """The verified client; `TooManyRequests` while throttled, `InvalidClient` otherwise."""
        address_key = client_ip or "unknown"
        pair_key = f"{presented.client_id}\x00{address_key}"
        wait = max(
            await self._failures_by_client_address.retry_after(pair_key),
            await self._failures_by_address.retry_after(address_key),
        )
        if wait:
            self._counts.token_refused(presented.client_id[:CLIENT_ID_MAX_LENGTH], "throttled")
            raise TooManyRequests(wait)
        found = await verify_client(
            self._directory, self._hasher, presented, client_ip=client_ip, now=now
        )
        if isinstance(found, str):
            await self._failures_by_client_address.record(pair_key)
            await self._failures_by_address.record(address_key)
            self._record_refusal(presented.client_id, found, client_ip, now)
            raise InvalidClient
        return found

    def _record_refusal(
        self, client_id: str, reason: str, client_ip: str | None, now: datetime
    ) -> None:
        """Logged at once; audited for a known client ID when the usage recorder flushes."""
        client_id = client_id[:CLIENT_ID_MAX_LENGTH]
        count_client_authentication_failure(reason)
        logger.info(
            "client authentication refused",
            extra={"client_id": client_id, "reason": reason, "client_ip": client_ip},
        )
        self._usage.token_refused(client_id=client_id, reason=reason, ip_address=client_ip, now=now)
        self._counts.token_refused(client_id, reason)
