"""Errors that reach clients as top-level GraphQL `errors` with a stable `extensions.code`.

Only these are shown as they are; every other exception is masked ("Unexpected error.", GQ-07).
Expected business failures are not errors at all: they are union members (schema/results.py).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class VisibleError(Exception):
    code = "BAD_REQUEST"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": self.code}


class NotAuthenticated(VisibleError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Authentication required: log in first.") -> None:
        super().__init__(message)


class BadUserInput(VisibleError):
    code = "BAD_USER_INPUT"


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected faults only; parse/validation errors and VisibleErrors are shown."""
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, VisibleError)
