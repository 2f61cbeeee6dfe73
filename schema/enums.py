"""The stored enumerations, registered once as GraphQL enums under the same names.

Every schema module imports enums from here (not from `models.enums`) so the registration has
happened before any type refers to them.
"""

from __future__ import annotations

import strawberry

from models.enums import (
    AccessLevel,
    ActorType,
    AuditAction,
    ClientAuthMethod,
    CredentialStatus,
    LimitMode,
    Role,
)

for _enum in (AccessLevel, CredentialStatus, Role, ActorType, AuditAction, LimitMode):
    strawberry.enum(_enum)
strawberry.enum(
    ClientAuthMethod,
    description=(
        "How a credential's client authenticates at the token endpoint: CLIENT_SECRET "
        "(client_secret_basic / client_secret_post) or PRIVATE_KEY_JWT (RFC 7523 §2.2)."
    ),
)

__all__ = [
    "AccessLevel",
    "ActorType",
    "AuditAction",
    "ClientAuthMethod",
    "CredentialStatus",
    "LimitMode",
    "Role",
]
