"""The assembled admin schema: Query, Mutation, and the hardening extensions (GQ-01..07)."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaskErrors, MaxTokensLimiter, ParserCache, SchemaExtension
from strawberry.permission import BasePermission

from partner_api.foundation.database_unavailable import DatabaseUnavailableErrors
from resolvers import api_tokens as api_token_resolvers
from resolvers import credential_mutations, policy, session, webhooks
from resolvers import credentials as queries
from resolvers import events as event_queries
from resolvers import notification_settings as notification_resolvers
from schema.api_token_types import (
    ApiToken,
    CreateApiTokenResult,
    ManagesApiTokens,
    RefuseThrottledApiTokens,
    RevokeApiTokenResult,
)
from schema.audit_types import AuditEvent
from schema.bounded_validation import BoundedValidation, DocumentBudget, bounded_validator
from schema.error_logging import ErrorLoggingSchema
from schema.errors import should_mask
from schema.notification_settings import (
    MailMessage,
    NotificationSettings,
    UpdateNotificationSettingsResult,
)
from schema.pagination import DEFAULT_PAGE_SIZE, Connection
from schema.permissions import IsAuthenticated
from schema.results import (
    CreateCredentialResult,
    EndPreviousSecretResult,
    LoginResult,
    RegenerateCredentialSecretResult,
    RevokeCredentialResult,
    UpdateCredentialPolicyResult,
    UpdateCredentialResult,
)
from schema.types import Credential, Event, PartnerApiInfo, Viewer
from schema.webhook_results import (
    CreateWebhookEndpointResult,
    DeleteWebhookEndpointResult,
    RotateWebhookSecretResult,
    SendTestWebhookResult,
    UpdateWebhookEndpointResult,
)
from schema.webhook_types import WebhookEndpoint

authenticated: list[type[BasePermission]] = [IsAuthenticated]
managers: list[type[BasePermission]] = [IsAuthenticated, ManagesApiTokens]
# Room for every operation of the admin page at the largest page (the credentials page of 100
# with its 24-hour usage is ~14,300, the webhook endpoints with their deliveries ~19,100) and for
# the introspection query GraphiQL sends (~52,000); docs/security.md, "GraphQL budgets".
DEFAULT_MAX_COST = 60_000


@strawberry.type
class Query:
    viewer: Viewer = strawberry.field(resolver=session.viewer, permission_classes=authenticated)
    partner_api: PartnerApiInfo = strawberry.field(
        resolver=queries.partner_api, permission_classes=authenticated
    )
    credentials: Connection[Credential] = strawberry.field(
        resolver=queries.credentials,
        permission_classes=authenticated,
        description="Your organisation's credentials, newest first.",
    )
    credential: Credential | None = strawberry.field(
        resolver=queries.credential, permission_classes=authenticated
    )
    events: Connection[Event] = strawberry.field(
        resolver=event_queries.events,
        permission_classes=authenticated,
        description="Your organisation's events: newest first, or upcoming ones soonest first.",
    )
    audit_events: Connection[AuditEvent] = strawberry.field(
        resolver=queries.audit_events,
        permission_classes=authenticated,
        description="Your organisation's audit trail, newest first.",
    )
    webhook_endpoints: list[WebhookEndpoint] = strawberry.field(
        resolver=webhooks.webhook_endpoints,
        permission_classes=authenticated,
        description="Your organisation's webhook endpoints, newest first.",
    )
    notification_event_types: list[str] = strawberry.field(
        resolver=webhooks.notification_event_types,
        permission_classes=authenticated,
        description="The event types a webhook endpoint may subscribe to.",
    )
    notification_settings: NotificationSettings = strawberry.field(
        resolver=notification_resolvers.notification_settings,
        permission_classes=authenticated,
        description="Who hears of reminders and security notices, and the leaked-secret policy.",
    )
    mail_messages: Connection[MailMessage] = strawberry.field(
        resolver=notification_resolvers.mail_messages,
        permission_classes=authenticated,
        description="Reminders and security notices mailed to your organisation, newest first.",
    )
    api_tokens: Connection[ApiToken] = strawberry.field(
        resolver=api_token_resolvers.api_tokens,
        permission_classes=managers,
        description=(
            "Your organisation's admin API tokens, newest first (owners and admins only; "
            "`FORBIDDEN` for other roles)."
        ),
    )


@strawberry.type
class Mutation:
    login: LoginResult = strawberry.mutation(resolver=session.login)
    logout: bool = strawberry.mutation(resolver=session.logout)
    create_credential: CreateCredentialResult = strawberry.mutation(
        resolver=credential_mutations.create_credential, permission_classes=authenticated
    )
    regenerate_credential_secret: RegenerateCredentialSecretResult = strawberry.mutation(
        resolver=credential_mutations.regenerate_credential_secret,
        permission_classes=authenticated,
    )
    revoke_credential: RevokeCredentialResult = strawberry.mutation(
        resolver=credential_mutations.revoke_credential, permission_classes=authenticated
    )
    update_credential: UpdateCredentialResult = strawberry.mutation(
        resolver=credential_mutations.update_credential, permission_classes=authenticated
    )
    end_previous_secret: EndPreviousSecretResult = strawberry.mutation(
        resolver=credential_mutations.end_previous_secret,
        permission_classes=authenticated,
        description="End a previous secret before its grace period runs out.",
    )
    update_credential_policy: UpdateCredentialPolicyResult = strawberry.mutation(
        resolver=policy.update_credential_policy,
        permission_classes=authenticated,
        description=(
            "Set or lift your organisation's maximum credential lifetime and default limits."
        ),
    )
    create_webhook_endpoint: CreateWebhookEndpointResult = strawberry.mutation(
        resolver=webhooks.create_webhook_endpoint, permission_classes=authenticated
    )
    update_webhook_endpoint: UpdateWebhookEndpointResult = strawberry.mutation(
        resolver=webhooks.update_webhook_endpoint, permission_classes=authenticated
    )
    delete_webhook_endpoint: DeleteWebhookEndpointResult = strawberry.mutation(
        resolver=webhooks.delete_webhook_endpoint,
        permission_classes=authenticated,
        description="Delete the endpoint and its deliveries, sent or not.",
    )
    rotate_webhook_secret: RotateWebhookSecretResult = strawberry.mutation(
        resolver=webhooks.rotate_webhook_secret,
        permission_classes=authenticated,
        description="Replace the signing secret; the previous one stops signing at once.",
    )
    send_test_webhook: SendTestWebhookResult = strawberry.mutation(
        resolver=webhooks.send_test_webhook,
        permission_classes=authenticated,
        description="Queue a `webhook.test` event for this endpoint alone.",
    )
    update_notification_settings: UpdateNotificationSettingsResult = strawberry.mutation(
        resolver=notification_resolvers.update_notification_settings,
        permission_classes=authenticated,
        description="Set the security contacts and the leaked-secret policy.",
    )
    create_api_token: CreateApiTokenResult = strawberry.mutation(
        resolver=api_token_resolvers.create_api_token,
        permission_classes=authenticated,
        description=(
            "Create an admin API token for automation (`Authorization: Bearer pat_…`); the token "
            "is shown once. Owners and admins only, signed in: an API token cannot create one."
        ),
    )
    revoke_api_token: RevokeApiTokenResult = strawberry.mutation(
        resolver=api_token_resolvers.revoke_api_token,
        permission_classes=authenticated,
        description="Revoke an admin API token: it stops working at once, in every process.",
    )


# Documents kept parsed and validated: the admin page sends at most the 26 distinct operations of
# graphql/operations/, with room for a few more. Small, because anyone may send distinct texts: a
# 2,000-token document parses to ~0.75 MiB, so the two caches hold at most ~48 MiB (a validated
# document can outlive its parse-cache entry).
DOCUMENT_CACHE_SIZE = 32


def build_schema(
    *,
    max_depth: int = 10,
    max_aliases: int = 15,
    max_tokens: int = 2000,
    max_cost: int = DEFAULT_MAX_COST,
    page_size_max: int = 100,
    introspection: bool = True,
) -> strawberry.Schema:
    # One validator (and so one verdict cache) per schema: a cached verdict always reflects
    # this schema's own limits.
    validate = bounded_validator(
        DocumentBudget(
            max_depth=max_depth,
            max_aliases=max_aliases,
            max_cost=max_cost,
            page_size_max=page_size_max,
            default_page_size=DEFAULT_PAGE_SIZE,
        ),
        cache_size=DOCUMENT_CACHE_SIZE,
    )
    extra_rules: tuple[type[ASTValidationRule], ...] = (
        () if introspection else (NoSchemaIntrospectionCustomRule,)
    )
    extensions: list[Callable[[], SchemaExtension]] = [
        # The token limit bounds parsing; the parser cache skips it for a text seen before
        # (keyed by the text and the token limit). A text that fails to parse is not cached.
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        # A throttled API token's request executes nothing (429); its token was never looked up.
        RefuseThrottledApiTokens,
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: BoundedValidation(validate, extra_rules),
        lambda: MaskErrors(should_mask_error=should_mask),
        # After MaskErrors: it finishes first, so it sees a database outage before masking.
        DatabaseUnavailableErrors,
    ]
    return ErrorLoggingSchema(query=Query, mutation=Mutation, extensions=extensions)


# The development schema, for printing `graphql/schema.graphql`.
schema = build_schema()
