"""Opaque keyset cursors `(timestamp, id)`: the GraphQL connections' and the Partner API's."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from uuid import UUID


class InvalidCursor(ValueError):
    pass


def encode_cursor(moment: datetime, row_id: UUID) -> str:
    raw = f"{moment.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, _, row_id = base64.urlsafe_b64decode(padded).decode("utf-8").partition("|")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError("naive timestamp")
        return parsed.astimezone(UTC), UUID(row_id)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("invalid cursor") from None
