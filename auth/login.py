"""Built-in admin login: argon2id password check, throttling, session start, audit (GQ-10).

Unknown e-mail, wrong password and a user with no organisation all fail the same way, after the
same argon2 work. Failures are counted per account and per source address; either counter at its
limit blocks further attempts until its window ends. The per-account limit means an attacker can
delay (not take over) one admin's logins for one window; the window is short and configurable.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from auth.passwords import verify_dummy_password, verify_password
from auth.sessions import IssuedSession, start_session
from models.admin import AdminUser, Membership
from models.enums import AuditAction
from partner_api import audit
from partner_api.audit import Actor
from partner_api.clock import utcnow
from partner_api.services import Services


@dataclass(frozen=True)
class LoggedIn:
    issued: IssuedSession
    membership: Membership


@dataclass(frozen=True)
class LoginRefused:
    pass


@dataclass(frozen=True)
class LoginThrottled:
    retry_after_seconds: int


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def log_in(
    services: Services, email: str, password: str, actor: Actor
) -> LoggedIn | LoginRefused | LoginThrottled:
    address_key = f"address:{actor.ip_address or 'unknown'}"
    account_key = f"account:{normalise_email(email)}"
    wait = max(
        await services.login_failures_by_account.retry_after(account_key),
        await services.login_failures_by_address.retry_after(address_key),
    )
    if wait:
        return LoginThrottled(retry_after_seconds=wait)

    user = await AdminUser.get_or_none(email=normalise_email(email))
    membership = None
    if user is None:
        await asyncio.to_thread(verify_dummy_password)
        valid = False
    else:
        valid = await asyncio.to_thread(verify_password, user.password_hash, password)
        membership = (
            await Membership.filter(user=user)
            .order_by("created_at")
            .select_related("organisation", "user")
            .first()
        )

    if not valid or membership is None:
        await services.login_failures_by_account.record(account_key)
        await services.login_failures_by_address.record(address_key)
        if user is not None and membership is not None:
            await audit.record(
                AuditAction.ADMIN_LOGIN_FAILED,
                organisation_id=membership.organisation.id,
                actor=actor,
                actor_user_id=user.id,
                actor_label=user.email,
            )
        return LoginRefused()

    await services.login_failures_by_account.reset(account_key)
    now = utcnow()
    async with in_transaction():
        issued = await start_session(
            membership,
            now=now,
            ttl=timedelta(minutes=services.settings.session_ttl_minutes),
            ip_address=actor.ip_address,
            user_agent=actor.user_agent,
        )
        await AdminUser.filter(id=membership.user.id).update(last_login_at=now)
        await audit.record(
            AuditAction.ADMIN_LOGIN,
            organisation_id=membership.organisation.id,
            actor=actor,
            actor_user_id=membership.user.id,
            actor_label=membership.user.email,
        )
    return LoggedIn(issued=issued, membership=membership)
