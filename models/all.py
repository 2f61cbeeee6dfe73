"""Every model module, for Tortoise's app registry (`models` app label)."""

from models.admin import AdminSession, AdminUser, Membership
from models.api_token import ApiToken
from models.audit import AuditEvent
from models.credential import Credential, CredentialKey, CredentialSecret
from models.credential_tally import CredentialTally
from models.key_fingerprint import KeyFingerprint
from models.notifications import (
    LeakReport,
    MailMessage,
    NotificationEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.oauth import ChangeEvent, RevokedToken, SigningKey, UsedAssertion
from models.organisation import Organisation
from models.ticketing import Barcode, Event, IdempotentResponse, Order, OrderLine, Product
from models.usage import UsageAddress, UsageCount, UsageError

__all__ = [
    "AdminSession",
    "AdminUser",
    "ApiToken",
    "AuditEvent",
    "Barcode",
    "ChangeEvent",
    "Credential",
    "CredentialKey",
    "CredentialSecret",
    "CredentialTally",
    "Event",
    "IdempotentResponse",
    "KeyFingerprint",
    "LeakReport",
    "MailMessage",
    "Membership",
    "NotificationEvent",
    "Order",
    "OrderLine",
    "Organisation",
    "Product",
    "RevokedToken",
    "SigningKey",
    "UsageAddress",
    "UsageCount",
    "UsageError",
    "UsedAssertion",
    "WebhookDelivery",
    "WebhookEndpoint",
]
