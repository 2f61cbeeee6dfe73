"""What every admin mutation resolver asks of its caller and its input: may this role change
things, and which update fields were given (Strawberry's UNSET: left out, so kept)."""

from __future__ import annotations

from typing import TypeVar

import strawberry

from partner_api.foundation.validation import InvalidInput
from partner_api.operations.credentials import KEEP, Keep
from schema.context import Context

T = TypeVar("T")


def may_manage(context: Context) -> bool:
    """Only OWNER and ADMIN change credentials and the organisation's settings (CR-09)."""
    return context.require_identity().role.manages_credentials


def given(value: T | None) -> T | Keep | None:
    """A field left out becomes KEEP; an explicit null stays None (it clears)."""
    return KEEP if value is strawberry.UNSET else value


def required(value: T | None, field: str) -> T | Keep:
    """Like `given`, for fields that cannot be cleared: an explicit null is a ValidationError."""
    if value is strawberry.UNSET:
        return KEEP
    if value is None:
        raise InvalidInput(field, f"{field} cannot be null; leave it out to keep it unchanged.")
    return value
