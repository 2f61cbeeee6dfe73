"""When the database cannot be reached, every request that needs it answers 503, not 500.

A stopped, restarting or overloaded PostgreSQL shows up in three places, each turned into one
stable answer here:

- an exception that leaves an endpoint (the Partner API, the OAuth endpoints, the admin session
  lookup before GraphQL runs) reaches `answer_503`, registered as a Starlette exception handler:
  `503` with `Retry-After` and `{"error": "temporarily_unavailable", ...}` (RFC 6749's code for
  "try again later"), or for `/graphql` a GraphQL error body with code `SERVICE_UNAVAILABLE`;
- an exception inside a GraphQL resolver is caught by GraphQL itself; `DatabaseUnavailableErrors`
  (a schema extension) replaces it with the same `SERVICE_UNAVAILABLE` error and sets the HTTP
  status to 503.

Only faults that mean "the database is not there right now" qualify (`is_database_unavailable`):
connection refused or reset, the server shutting down or starting up, a connection lost mid-query,
too many connections. Everything else stays an unexpected fault (500, masked). Nothing about the
fault reaches the client; the log line names the exception type only, since messages can carry
addresses.

The hot paths pay nothing while the database is fine: Starlette's exception middleware wraps every
request anyway, and the extension looks at a result only when it has errors. Recovery needs
nothing from us: asyncpg's pool replaces a closed connection on its next `acquire`, so once
PostgreSQL is back the next request opens a fresh connection (tests/test_faults_database_down.py
measures how soon).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from tortoise.exceptions import BaseORMException, DBConnectionError

from graphql import GraphQLError
from partner_api.foundation.error_body import error_body

logger = logging.getLogger("partner_api.foundation.database")

RETRY_AFTER_SECONDS = 5
GRAPHQL_CODE = "SERVICE_UNAVAILABLE"
MESSAGE = "The service is temporarily unavailable; try again shortly."

# The exception types that mean the database server is unreachable, not that a query was wrong.
# `ConnectionError` covers refused, reset and broken connections (and Tortoise's
# DBConnectionError); the asyncpg classes are the server's own "going away / not yet there"
# answers (SQLSTATE class 08, 57P01-57P03, 53300) and a connection lost mid-operation.
# `TimeoutError` is what asyncpg raises when the operator bounds connects and queries
# (`?timeout=5&command_timeout=5` in DATABASE_URL): a database too slow to answer is unavailable.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    DBConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    # "cannot switch to state 12; another operation is in progress": asyncpg's protocol when the
    # server ends the session just as a query starts (seen while stopping PostgreSQL under load).
    asyncpg.InternalClientError,
)
_MAX_CHAIN = 8


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether `error`, or an exception it was raised from, says the database is unreachable."""
    for _ in range(_MAX_CHAIN):
        if error is None:
            return False
        if isinstance(error, _UNAVAILABLE):
            return True
        if isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


class _OncePerSecond:
    """An outage makes every request fail the same way; one line a second says it (the access
    log still has a line per 503), with how many were answered 503 since the last line."""

    def __init__(self) -> None:
        self._last = float("-inf")
        self._since_last = 0

    def __call__(self, error: BaseException, where: str) -> None:
        self._since_last += 1
        now = time.monotonic()
        if now - self._last < 1.0:
            return
        logger.warning(
            "database unavailable: answered 503",
            extra={"cause": type(error).__name__, "where": where, "count": self._since_last},
        )
        self._last, self._since_last = now, 0


_log = _OncePerSecond()


def _encoded(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


_GRAPHQL_BODY = _encoded({"errors": [{"message": MESSAGE, "extensions": {"code": GRAPHQL_CODE}}]})
_BODY = _encoded(error_body("temporarily_unavailable", MESSAGE))


def _body(path: str) -> bytes:
    return _GRAPHQL_BODY if path == "/graphql" else _BODY


async def answer_503(request: Request, error: Exception) -> Response:
    """The exception handler (Starlette's `exception_handlers`) for every type in `HANDLED`."""
    if not is_database_unavailable(error):
        raise error  # an unexpected fault after all: the server's generic 500 (LG-03)
    _log(error, request.url.path)
    return Response(
        _body(request.url.path),
        status_code=503,
        media_type="application/json",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
    )


# Starlette picks a handler by the raised type. Besides the "unavailable" types themselves, the
# ORM's own exceptions and asyncpg's InterfaceError may carry an outage as their cause; for
# those `answer_503` looks closer and re-raises anything else.
HANDLED: tuple[type[Exception], ...] = (
    *(kind for kind in _UNAVAILABLE if issubclass(kind, Exception)),
    BaseORMException,
    asyncpg.InterfaceError,
)


def exception_handlers() -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """For `Starlette(exception_handlers=...)`: an endpoint that raises because the database is
    unreachable answers 503. Starlette's ExceptionMiddleware already wraps every request, so
    this costs a request nothing until an exception is raised."""
    return dict.fromkeys(HANDLED, answer_503)


def unavailable_graphql_error(error: GraphQLError) -> GraphQLError:
    return GraphQLError(
        MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": GRAPHQL_CODE},
    )


class DatabaseUnavailableErrors(SchemaExtension):
    """GraphQL resolver faults caused by an unreachable database become `SERVICE_UNAVAILABLE`
    errors and the HTTP status 503. Listed after MaskErrors, so it sees the original errors first
    (extensions finish in reverse order); the replacement carries no original error, so MaskErrors
    shows it as it is."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if not errors:
            return
        causes = [
            error.original_error
            for error in errors
            if error.original_error is not None and is_database_unavailable(error.original_error)
        ]
        if not causes:
            return
        _log(causes[0], "/graphql")
        result.errors = [  # type: ignore[union-attr]
            unavailable_graphql_error(error) if error.original_error in causes else error
            for error in errors
        ]
        context = self.execution_context.context
        response = getattr(context, "response", None)
        if response is not None:
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
