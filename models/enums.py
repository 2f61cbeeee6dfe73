"""Enumerations stored in the database and exposed through GraphQL under the same names."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    DEVELOPER = "DEVELOPER"
    VIEWER = "VIEWER"

    @property
    def manages_credentials(self) -> bool:
        """Only owners and admins create, regenerate, revoke or re-scope credentials (CR-09)."""
        return self in {Role.OWNER, Role.ADMIN}


class AccessLevel(StrEnum):
    FULL = "FULL"
    FINE_GRAINED = "FINE_GRAINED"


class ClientAuthMethod(StrEnum):
    """How a credential's client authenticates at the token endpoint: a shared secret
    (client_secret_basic / client_secret_post) or a JWT signed with its own private key
    (private_key_jwt, RFC 7523 §2.2), of which we hold only the public keys."""

    CLIENT_SECRET = "CLIENT_SECRET"
    PRIVATE_KEY_JWT = "PRIVATE_KEY_JWT"


class LimitMode(StrEnum):
    """What a credential's rate limit and token quota do when spent: ENFORCE refuses (429),
    MONITOR only counts and reports ("would have been limited")."""

    ENFORCE = "ENFORCE"
    MONITOR = "MONITOR"


class CredentialStatus(StrEnum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


class ActorType(StrEnum):
    USER = "USER"
    CREDENTIAL = "CREDENTIAL"
    SYSTEM = "SYSTEM"
    # An admin API token (`pat_…`) acting for the admin who created it (models/api_token.py).
    API_TOKEN = "API_TOKEN"


class AuditAction(StrEnum):
    ADMIN_LOGIN = "ADMIN_LOGIN"
    ADMIN_LOGIN_FAILED = "ADMIN_LOGIN_FAILED"
    ADMIN_LOGOUT = "ADMIN_LOGOUT"
    CREDENTIAL_CREATED = "CREDENTIAL_CREATED"
    CREDENTIAL_SECRET_REGENERATED = "CREDENTIAL_SECRET_REGENERATED"
    CREDENTIAL_UPDATED = "CREDENTIAL_UPDATED"
    CREDENTIAL_REVOKED = "CREDENTIAL_REVOKED"
    # A previous secret ended before its grace period ran out; the organisation's policy changed.
    CREDENTIAL_PREVIOUS_SECRET_ENDED = "CREDENTIAL_PREVIOUS_SECRET_ENDED"
    CREDENTIAL_POLICY_UPDATED = "CREDENTIAL_POLICY_UPDATED"
    # Aggregated per credential and minute (after: count), so a flood cannot fill the table.
    TOKEN_ISSUED = "TOKEN_ISSUED"
    TOKEN_REFUSED = "TOKEN_REFUSED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    WEBHOOK_ENDPOINT_CREATED = "WEBHOOK_ENDPOINT_CREATED"
    WEBHOOK_ENDPOINT_UPDATED = "WEBHOOK_ENDPOINT_UPDATED"
    WEBHOOK_ENDPOINT_DELETED = "WEBHOOK_ENDPOINT_DELETED"
    WEBHOOK_SECRET_ROTATED = "WEBHOOK_SECRET_ROTATED"
    WEBHOOK_TEST_SENT = "WEBHOOK_TEST_SENT"
    # By the system: the endpoint failed for a day.
    WEBHOOK_ENDPOINT_DISABLED = "WEBHOOK_ENDPOINT_DISABLED"
    NOTIFICATION_SETTINGS_UPDATED = "NOTIFICATION_SETTINGS_UPDATED"
    # A leak report (GitHub secret scanning) matched one of the credential's secrets.
    CREDENTIAL_SECRET_LEAKED = "CREDENTIAL_SECRET_LEAKED"
    API_TOKEN_CREATED = "API_TOKEN_CREATED"
    API_TOKEN_REVOKED = "API_TOKEN_REVOKED"
