"""The admin API tokens' part of the schema: the `ApiToken` type, its inputs and result unions, who
may list tokens, and how a throttled token presentation is answered.

No field ever returns a token or its hash: `ApiTokenCreated.token` carries the new `pat_…` value
once. Two refusals are top-level errors rather than union members, because they are about the
request rather than an input: listing tokens without the role to manage them (`FORBIDDEN`, like
`UNAUTHENTICATED` a permission that raises), and a token presented from an address over its
failure budget (`TOO_MANY_REQUESTS`, HTTP 429 with `Retry-After`: nothing executes, not even a
field that needs no login, so a client backs off whatever it sent; a document that does not
validate still gets its validation errors, which cost no lookup either).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from auth.admins.api_tokens import throttled_retry_after
from graphql import ExecutionResult, GraphQLError
from models.api_token import ApiToken as ApiTokenModel
from models.api_token import ApiTokenStatus, lesser_role
from partner_api.operations.api_tokens import MAX_LIFETIME_DAYS
from schema.context import Context
from schema.enums import Role
from schema.errors import VisibleError
from schema.results import NotFound, PermissionDenied, ValidationError
from schema.types import User

strawberry.enum(ApiTokenStatus)

SHOWN_ONCE = (
    "The `pat_…` token, for `Authorization: Bearer` on POST /graphql. Shown this once; store it "
    "securely now."
)
MANAGE_DENIED = "Only owners and admins manage API tokens."
TOKENS_CANNOT_MINT = (
    "An API token cannot create API tokens; an owner or admin creates them, signed in."
)
API_TOKEN_NOT_FOUND = "No API token with this id exists in your organisation."  # noqa: S105


class Forbidden(VisibleError):
    """The caller is signed in, but their role may not use this field."""

    code = "FORBIDDEN"


class TooManyAttempts(VisibleError):
    """Too many failed API token presentations from the caller's address (auth/admins/
    login_throttle.py); `extensions.retryAfterSeconds` says when to try again."""

    code = "TOO_MANY_REQUESTS"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            "Too many failed API token attempts from your address; "
            f"try again in {retry_after_seconds} s."
        )
        self.extensions["retryAfterSeconds"] = retry_after_seconds


@strawberry.type(
    description=(
        "An admin API token: it acts as `effectiveRole` in your organisation, for the admin who "
        "created it. The token itself is shown once, by `createApiToken`."
    )
)
class ApiToken:
    id: strawberry.ID
    name: str
    role: Role = strawberry.field(description="The role it was created with (at most ADMIN).")
    effective_role: Role | None = strawberry.field(
        description=(
            "What it acts as now: `role`, capped by its creator's current role. Null when it "
            "cannot act: revoked, expired, or its creator is no longer a member."
        )
    )
    status: ApiTokenStatus
    hint: str = strawberry.field(description="The token's last four characters.")
    created_by: User = strawberry.field(description="The admin it acts for.")
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = strawberry.field(
        description="Recorded at most once a minute, so up to a minute behind."
    )
    last_used_ip: str | None
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, token: ApiTokenModel, *, now: datetime) -> ApiToken:
        """`token` with its creator's membership loaded (`created_by`, null once it is gone)."""
        status = token.status_at(now)
        creator = token.created_by
        effective_role = None
        if status is ApiTokenStatus.ACTIVE and creator is not None:
            effective_role = lesser_role(token.role, creator.role)
        return cls(
            id=strawberry.ID(str(token.id)),
            name=token.name,
            role=token.role,
            effective_role=effective_role,
            status=status,
            hint=token.hint,
            created_by=User(email=token.created_by_email),
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            last_used_ip=token.last_used_ip,
            revoked_at=token.revoked_at,
        )


@strawberry.input
class CreateApiTokenInput:
    name: str = strawberry.field(
        description="What it is for, e.g. the pipeline that uses it (1 to 100 characters)."
    )
    role: Role = strawberry.field(
        description="ADMIN, DEVELOPER or VIEWER, and no more than your own role."
    )
    expires_at: datetime = strawberry.field(
        description=(
            f"Required: in the future, at most {MAX_LIFETIME_DAYS} days away (GitHub's limit for "
            "fine-grained tokens), with a time zone."
        )
    )


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type
class ApiTokenCreated:
    api_token: ApiToken
    token: str = strawberry.field(description=SHOWN_ONCE)


@strawberry.type(description="It stops working at once, in every process.")
class ApiTokenRevoked:
    api_token: ApiToken


CreateApiTokenResult = Annotated[
    ApiTokenCreated | ValidationError | PermissionDenied, strawberry.union("CreateApiTokenResult")
]
RevokeApiTokenResult = Annotated[
    ApiTokenRevoked | NotFound | PermissionDenied, strawberry.union("RevokeApiTokenResult")
]


class ManagesApiTokens(BasePermission):
    """OWNER and ADMIN only, the roles that manage credentials (CR-09); after `IsAuthenticated`."""

    message = MANAGE_DENIED

    def has_permission(
        self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any
    ) -> bool:
        identity = info.context.identity
        return identity is not None and identity.role.manages_credentials

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message)


class RefuseThrottledApiTokens(SchemaExtension):
    """Answers a request whose API token was refused by the login throttle (auth/admins/
    api_tokens.py) with HTTP 429, `Retry-After` and one `TOO_MANY_REQUESTS` error, instead of
    running the operation."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        # A schema run outside a request (tests, tools) has no context: nothing was presented.
        wait = throttled_retry_after(context.request) if isinstance(context, Context) else 0
        if wait:
            refusal = TooManyAttempts(wait)
            context.response.status_code = 429
            context.response.headers["Retry-After"] = str(wait)
            self.execution_context.result = ExecutionResult(
                data=None, errors=[GraphQLError(str(refusal), original_error=refusal)]
            )
        yield
