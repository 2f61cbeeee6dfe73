"""Admin API tokens in the admin API: `apiTokens`, `createApiToken`, `revokeApiToken`.

Owners and admins manage tokens (CR-09). A token caller may list and revoke tokens as its role
allows (an ADMIN token can revoke itself when it leaks), but never create one, whatever its role:
PT-02 asks only that a token mint no token of a higher role, and refusing all minting is stricter
— a leaked token cannot extend its own life or spread into new tokens. Another organisation's
token ids are unknown ids (NotFound), as for credentials (CR-07).
"""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from models.api_token import ApiToken as ApiTokenModel
from models.api_token import ApiTokenStatus
from partner_api.foundation.clock import utcnow
from partner_api.foundation.validation import InvalidInput
from partner_api.operations import api_tokens as operations
from resolvers.mutation_inputs import may_manage
from schema.api_token_types import (
    API_TOKEN_NOT_FOUND,
    MANAGE_DENIED,
    TOKENS_CANNOT_MINT,
    ApiToken,
    ApiTokenCreated,
    ApiTokenRevoked,
    CreateApiTokenInput,
    CreateApiTokenResult,
    RevokeApiTokenInput,
    RevokeApiTokenResult,
)
from schema.context import Context
from schema.pagination import Connection, paginate
from schema.results import NotFound, PermissionDenied, ValidationError


async def api_tokens(
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    status: ApiTokenStatus | None = None,
) -> Connection[ApiToken]:
    now = utcnow()
    context = info.context

    async def nodes(rows: Sequence[ApiTokenModel]) -> list[ApiToken]:
        return [ApiToken.from_model(row, now=now) for row in rows]

    return await paginate(
        operations.api_tokens(context.tenant, status, now=now),
        time_field="created_at",
        first=first,
        after=after,
        maximum=context.services.settings.page_size_max,
        to_nodes=nodes,
    )


async def create_api_token(
    info: strawberry.Info[Context, None], input: CreateApiTokenInput
) -> CreateApiTokenResult:
    context = info.context
    if context.require_identity().api_token_id is not None:
        return PermissionDenied(message=TOKENS_CANNOT_MINT)
    if not may_manage(context):
        return PermissionDenied(message=MANAGE_DENIED)
    draft = operations.ApiTokenDraft(name=input.name, role=input.role, expires_at=input.expires_at)
    now = utcnow()
    try:
        issued = await operations.create_api_token(
            context.tenant, context.actor, draft, hasher=context.services.hasher, now=now
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    except operations.NotACreator:
        return PermissionDenied(message=MANAGE_DENIED)
    return ApiTokenCreated(
        api_token=ApiToken.from_model(issued.api_token, now=now), token=issued.value
    )


async def revoke_api_token(
    info: strawberry.Info[Context, None], input: RevokeApiTokenInput
) -> RevokeApiTokenResult:
    """Revoking a revoked token answers it as it is (revoked then, by whom it was)."""
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=MANAGE_DENIED)
    now = utcnow()
    try:
        revoked = await operations.revoke_api_token(
            context.tenant, context.actor, str(input.id), now=now
        )
    except operations.ApiTokenNotFound:
        return NotFound(message=API_TOKEN_NOT_FOUND)
    return ApiTokenRevoked(api_token=ApiToken.from_model(revoked, now=now))
