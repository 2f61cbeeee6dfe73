"""Every model module, for Tortoise's app registry (`models` app label)."""

from models.admin import AdminSession, AdminUser, Membership
from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.organisation import Organisation

__all__ = [
    "AdminSession",
    "AdminUser",
    "AuditEvent",
    "Credential",
    "CredentialSecret",
    "Membership",
    "Organisation",
]
