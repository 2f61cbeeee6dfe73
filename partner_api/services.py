"""The long-lived collaborators one app instance shares between requests (built by create_app)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from auth.authorization_server import AuthorizationServer
from auth.identity import AdminAuthenticator
from auth.keyed_hash import KeyedHasher
from auth.login_throttle import LoginThrottle
from auth.throttle import WindowCounter
from partner_api.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    hasher: KeyedHasher
    authenticator: AdminAuthenticator
    login_throttle: LoginThrottle
    authorization_server: AuthorizationServer
    partner_rate_limit: WindowCounter
    redis: Redis | None = None
