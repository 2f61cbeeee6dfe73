"""Login, logout and the current viewer.

A request that presents an admin API token (`Bearer pat_…`, valid or not) never reaches login or
logout (PT-02): a token must not turn itself into a session, which its revocation, expiry and role
cap would not bind, nor end one (a browser's cookie may ride along with it). The refusal is a
top-level `FORBIDDEN` error, before any other work: it is the request that is wrong, not an input.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import strawberry
from tortoise.transactions import in_transaction

from auth.admins.api_tokens import presented_api_token
from auth.admins.identity import SESSION_COOKIE, AdminIdentity
from auth.admins.login import LoggedIn, LoginThrottled, log_in
from auth.admins.sessions import end_session, session_identity
from models.enums import AuditAction
from partner_api.foundation.clock import utcnow
from partner_api.foundation.validation import invisible_character
from partner_api.operations import audit
from schema.api_token_types import Forbidden
from schema.context import Context
from schema.results import InvalidLogin, LoginResult, LoginSuccess
from schema.results import LoginThrottled as LoginThrottledResult
from schema.types import Organisation, User, Viewer

INVALID_LOGIN = "Invalid e-mail or password."
SESSION_MUTATIONS_REFUSED = (
    "An API token cannot sign in or out: send login and logout without `Bearer pat_…`."
)


def refuse_api_tokens(context: Context) -> None:
    if presented_api_token(context.request) is not None:
        raise Forbidden(SESSION_MUTATIONS_REFUSED)


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
    refuse_api_tokens(context)
    if invisible_character(email) is not None:
        # Account e-mails are created through the same rule, and PostgreSQL cannot even
        # compare a NUL: the answer is the ordinary failed login, without a database look-up.
        return InvalidLogin(message=INVALID_LOGIN)
    services = context.services
    outcome = await log_in(
        email,
        password,
        context.actor,
        throttle=services.login_throttle,
        session_ttl=timedelta(minutes=services.settings.session_ttl_minutes),
    )
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
    """End every built-in session the request presents (true), or nothing when none is live (false).

    A request can present two sessions: a bearer token, which is what authenticates it, and the
    browser's session cookie, which may name another session (a token pasted into GraphiQL from a
    signed-in browser). "Log out" ends both, in one transaction: clearing a cookie whose session
    stays alive would leave a session the user believes ended, and keeping the cookie would leave
    the browser signed in after the user logged out. The cookie is cleared only once the
    sessions have ended, so a failure leaves sessions and cookie as they were.
    """
    context = info.context
    refuse_api_tokens(context)
    presented: dict[UUID, AdminIdentity] = {}
    if context.identity is not None and context.identity.session_id is not None:
        presented[context.identity.session_id] = context.identity
    cookie = context.request.cookies.get(SESSION_COOKIE)
    from_cookie = await session_identity(cookie) if cookie else None
    if from_cookie is not None and from_cookie.session_id is not None:
        presented.setdefault(from_cookie.session_id, from_cookie)
    ended_any = False
    if presented:
        now = utcnow()
        async with in_transaction():
            for session_id, identity in presented.items():
                if await end_session(session_id, now=now):
                    ended_any = True
                    await audit.record(
                        AuditAction.ADMIN_LOGOUT,
                        organisation_id=identity.organisation_id,
                        actor=replace(context.actor, identity=identity),
                    )
    context.response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return ended_any
