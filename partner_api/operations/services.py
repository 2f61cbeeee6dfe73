"""The long-lived collaborators one app instance shares between requests: built by the web
layer (create_app), read by the GraphQL context and the endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from auth.admins.identity import AdminAuthenticator
from auth.admins.login_throttle import LoginThrottle
from auth.partners.authorization_server import AuthorizationServer
from auth.partners.keyed_hash import KeyedHasher
from partner_api.foundation.settings import Settings
from partner_api.foundation.throttle import WindowCounter


@dataclass(frozen=True)
class Services:
    settings: Settings
    hasher: KeyedHasher
    authenticator: AdminAuthenticator
    login_throttle: LoginThrottle
    authorization_server: AuthorizationServer
    partner_rate_limit: WindowCounter
    redis: Redis | None = None
