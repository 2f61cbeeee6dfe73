"""How GraphQL errors are logged (GQ-14, LG-02).

Strawberry logs every error at ERROR with a traceback and the query's text around it. Here:

- client errors (`schema.errors.is_client_error`: not logged in, a bad cursor, a syntax or
  validation error, a variable that does not coerce) write one INFO line per request, the same
  level as every other endpoint's refusals: the error codes and how many there were. Nothing
  the client wrote is in it (no query, no variables, no messages, which quote variable values),
  so a flood of refusals cannot fill the logs with tracebacks or carry a password into them;
- unexpected faults write one ERROR line each, with the field's path and the traceback (scrubbed
  by the log formatter), and are masked in the response (`schema.errors.should_mask`).
"""

from __future__ import annotations

import logging

import strawberry
from strawberry.types import ExecutionContext

from graphql import GraphQLError, GraphQLSyntaxError
from schema.errors import VisibleError, is_client_error

logger = logging.getLogger("partner_api.graphql")

# The path is schema field names and the client's aliases; an alias can be long.
MAX_LOGGED_PATH = 256


def refusal_code(error: GraphQLError) -> str:
    """A stable name for a client error's kind (Apollo Server's codes where it has one)."""
    original = error.original_error
    if isinstance(original, VisibleError):
        return original.code
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if isinstance(original, GraphQLError):
        # graphql-core reports a variable that does not coerce with the coercion error as its
        # original error; validation rules report theirs without one.
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def _path(error: GraphQLError) -> str:
    return ".".join(str(key) for key in error.path or ())[:MAX_LOGGED_PATH]


class ErrorLoggingSchema(strawberry.Schema):
    """The admin schema's `strawberry.Schema`, logging errors as the module docstring says."""

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        refused = [error for error in errors if is_client_error(error)]
        if refused:
            codes = dict.fromkeys(refusal_code(error) for error in refused)
            logger.info(
                "graphql request refused",
                extra={"code": ",".join(codes), "errors": len(refused)},
            )
        for error in errors:
            if not is_client_error(error):
                logger.error(
                    "unexpected error in a GraphQL operation",
                    extra={"path": _path(error)},
                    exc_info=error.original_error,
                )
