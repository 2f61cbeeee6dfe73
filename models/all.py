"""Every model module, for Tortoise's app registry (`models` app label)."""

from models.admin import AdminSession, AdminUser, Membership
from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.oauth import ChangeEvent, RevokedToken, SigningKey
from models.organisation import Organisation

__all__ = [
    "AdminSession",
    "AdminUser",
    "AuditEvent",
    "ChangeEvent",
    "Credential",
    "CredentialSecret",
    "Membership",
    "Organisation",
    "RevokedToken",
    "SigningKey",
]
