"""Errors that reach clients as top-level GraphQL `errors` with a stable `extensions.code`.

Only these, and the errors GraphQL itself reports before execution (syntax, validation, a
variable that does not coerce), are shown as they are; every other exception is masked
("Unexpected error.", GQ-07). Expected business failures are not errors at all: they are union
members (schema/results.py).
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


def is_client_error(error: GraphQLError) -> bool:
    """Whether `error` is the client's doing: a VisibleError, or an error reported before
    execution (syntax, validation, variable coercion). Anything else is an unexpected fault."""
    original = error.original_error
    if isinstance(original, VisibleError):
        return True
    # Errors reported before execution have no path. GraphQL words them itself, and a scalar's
    # parser reports a value it cannot read by raising a GraphQLError, which graphql-core quotes
    # after the variable's name. Any other exception there is a fault in our code or a library,
    # and graphql-core would quote its text.
    return error.path is None and (original is None or isinstance(original, GraphQLError))


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected faults only; client errors are shown as they are."""
    return error.original_error is not None and not is_client_error(error)
