"""The long-lived collaborators one app instance shares between requests (built by create_app)."""

from __future__ import annotations

from dataclasses import dataclass

from auth.identity import AdminAuthenticator
from auth.keyed_hash import KeyedHasher
from auth.throttle import FailureCounter
from partner_api.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    hasher: KeyedHasher
    authenticator: AdminAuthenticator
    login_failures_by_account: FailureCounter
    login_failures_by_address: FailureCounter
