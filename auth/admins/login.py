"""Built-in admin login: argon2id password check, throttling, session start, audit (GQ-10).

Unknown e-mail, wrong password and a user with no organisation all fail the same way, after the
same argon2 work. How failures are counted, and why that cannot lock an admin out, is
auth/admins/login_throttle.py's concern (GQ-15).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from auth.admins.login_throttle import LoginThrottle
from auth.admins.passwords import verify_dummy_password, verify_password
from auth.admins.sessions import IssuedSession, start_session
from models.admin import AdminUser, Membership
from models.audit import write_audit_event
from models.enums import ActorType, AuditAction
from partner_api.foundation.clock import utcnow


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
    email: str,
    password: str,
    actor: Actor,
    *,
    throttle: LoginThrottle,
    session_ttl: timedelta,
) -> LoggedIn | LoginRefused | LoginThrottled:
    account = normalise_email(email)
    wait = await throttle.retry_after(account, actor.ip_address)
    if wait:
        return LoginThrottled(retry_after_seconds=wait)

    user = await AdminUser.get_or_none(email=account)
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
        await throttle.failed(account, actor.ip_address)
        if user is not None and membership is not None:
            await write_audit_event(
                AuditAction.ADMIN_LOGIN_FAILED,
                organisation_id=membership.organisation.id,
                actor_type=ActorType.USER,
                actor_user_id=user.id,
                actor_label=user.email,
                ip_address=actor.ip_address,
                user_agent=actor.user_agent,
            )
        return LoginRefused()

    now = utcnow()
    async with in_transaction():
        issued = await start_session(
            membership,
            now=now,
            ttl=session_ttl,
            ip_address=actor.ip_address,
            user_agent=actor.user_agent,
        )
        await AdminUser.filter(id=membership.user.id).update(last_login_at=now)
        await write_audit_event(
            AuditAction.ADMIN_LOGIN,
            organisation_id=membership.organisation.id,
            actor_type=ActorType.USER,
            actor_user_id=membership.user.id,
            actor_label=membership.user.email,
            ip_address=actor.ip_address,
            user_agent=actor.user_agent,
        )
    await throttle.succeeded(account, actor.ip_address)
    return LoggedIn(issued=issued, membership=membership)
