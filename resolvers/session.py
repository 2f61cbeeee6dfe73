"""Login, logout and the current viewer."""

from __future__ import annotations

import strawberry
from tortoise.transactions import in_transaction

from auth.identity import SESSION_COOKIE
from auth.login import LoggedIn, LoginThrottled, log_in
from auth.sessions import end_session
from models.enums import AuditAction
from partner_api import audit
from partner_api.clock import utcnow
from schema.context import Context
from schema.results import InvalidLogin, LoginResult, LoginSuccess
from schema.results import LoginThrottled as LoginThrottledResult
from schema.types import Organisation, User, Viewer

INVALID_LOGIN = "Invalid e-mail or password."


def viewer_of(context: Context) -> Viewer:
    identity = context.require_identity()
    return Viewer(
        user=User(email=identity.email),
        organisation=Organisation(
            id=strawberry.ID(str(identity.organisation_id)), name=identity.organisation_name
        ),
        role=identity.role,
    )


async def viewer(info: strawberry.Info[Context, None]) -> Viewer:
    return viewer_of(info.context)


async def login(info: strawberry.Info[Context, None], email: str, password: str) -> LoginResult:
    context = info.context
    outcome = await log_in(context.services, email, password, context.actor)
    if isinstance(outcome, LoginThrottled):
        return LoginThrottledResult(
            message="Too many failed logins; try again later.",
            retry_after_seconds=outcome.retry_after_seconds,
        )
    if not isinstance(outcome, LoggedIn):
        return InvalidLogin(message=INVALID_LOGIN)
    settings = context.services.settings
    context.response.set_cookie(
        SESSION_COOKIE,
        outcome.issued.token,
        max_age=settings.session_ttl_minutes * 60,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.production,
    )
    membership = outcome.membership
    return LoginSuccess(
        token=outcome.issued.token,
        expires_at=outcome.issued.expires_at,
        viewer=Viewer(
            user=User(email=membership.user.email),
            organisation=Organisation(
                id=strawberry.ID(str(membership.organisation.id)),
                name=membership.organisation.name,
            ),
            role=membership.role,
        ),
    )


async def logout(info: strawberry.Info[Context, None]) -> bool:
    """End the caller's session (true), or do nothing when there is none (false)."""
    context = info.context
    context.response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    identity = context.identity
    if identity is None or identity.session_id is None:
        return False
    async with in_transaction():
        ended = await end_session(identity.session_id, now=utcnow())
        if ended:
            await audit.record(
                AuditAction.ADMIN_LOGOUT,
                organisation_id=identity.organisation_id,
                actor=context.actor,
            )
    return ended
