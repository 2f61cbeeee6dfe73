"""The stored enumerations, registered once as GraphQL enums under the same names.

Every schema module imports enums from here (not from `models.enums`) so the registration has
happened before any type refers to them.
"""

from __future__ import annotations

import strawberry

from models.enums import AccessLevel, ActorType, AuditAction, CredentialStatus, LimitMode, Role

for _enum in (AccessLevel, CredentialStatus, Role, ActorType, AuditAction, LimitMode):
    strawberry.enum(_enum)

__all__ = ["AccessLevel", "ActorType", "AuditAction", "CredentialStatus", "LimitMode", "Role"]
