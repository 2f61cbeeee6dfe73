"""The Partner API's expected refusals: raised anywhere below the endpoints (parsing, reservations)
and turned into the one error body `{"error", "error_description", "field"?}` in
partner_endpoint.py."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
