"""The GraphQL baseline: a plain Strawberry schema (no extensions, no caches, no database) whose
`credentials` connection returns 20 in-memory objects with every field of our `CredentialFields`
fragment, served by `strawberry.asgi.GraphQL` — the class our admin endpoint builds on — at
`POST /graphql` under the same uvicorn settings as our app."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.enum
class CredentialStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


@strawberry.enum
class AccessLevel(enum.Enum):
    FULL = "FULL"
    FINE_GRAINED = "FINE_GRAINED"


@strawberry.enum
class ClientAuthMethod(enum.Enum):
    CLIENT_SECRET = "CLIENT_SECRET"  # noqa: S105 (a method name)
    PRIVATE_KEY_JWT = "PRIVATE_KEY_JWT"


@strawberry.enum
class UsageRange(enum.Enum):
    LAST_HOUR = "LAST_HOUR"
    LAST_DAY = "LAST_DAY"
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_30_DAYS = "LAST_30_DAYS"


@strawberry.type
class CredentialKey:
    kid: str
    alg: str
    last_used_at: datetime | None


@strawberry.type
class Usage:
    calls: int
    errors: int


NO_USAGE = Usage(calls=0, errors=0)


@strawberry.type
class User:
    email: str


@strawberry.type
class CredentialSecret:
    id: strawberry.ID
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    safe_to_end: bool | None


@strawberry.type
class Event:
    id: strawberry.ID
    name: str
    venue: str
    starts_at: datetime
    ends_at: datetime


@strawberry.type
class Credential:
    id: strawberry.ID
    name: str
    contact_email: str
    client_id: str
    status: CredentialStatus
    access_level: AccessLevel
    scopes: list[str]
    created_at: datetime
    created_by: User | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None
    ip_allowlist: list[str]
    expires_soon: bool
    stale: bool
    exceeds_policy: bool
    secrets: list[CredentialSecret]
    # As the benchmark's credentials in our app: unrestricted, so no events and nothing lapsed.
    events: list[Event] | None
    restriction_lapsed: bool
    # Client-secret credentials, as the benchmark's: no key source, no keys.
    auth_method: ClientAuthMethod
    jwks_uri: str | None
    keys: list[CredentialKey]

    @strawberry.field
    def usage(self, range: UsageRange) -> Usage:
        return NO_USAGE


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge:
    cursor: str
    node: Credential


@strawberry.type
class Connection:
    total_count: int
    page_info: PageInfo
    edges: list[Edge]


@dataclass(frozen=True)
class _Page:
    edges: list[Edge]


def _page() -> _Page:
    creator = User(email="admin@bench.example")
    now = datetime.now(UTC)
    edges = []
    for index in range(20):
        created = now - timedelta(seconds=index)
        edges.append(
            Edge(
                cursor=f"MjAyNi0xMS0zMFQwOTo1ODoyNC4wMDAwMDArMDA6MDB8{index:012d}",
                node=Credential(
                    id=strawberry.ID(str(uuid.uuid4())),
                    name=f"Integration {index}",
                    contact_email="ops@partner.example",
                    client_id=f"pa_client_{uuid.uuid4().hex}",
                    status=CredentialStatus.ACTIVE,
                    access_level=AccessLevel.FULL,
                    scopes=["events:read", "orders:read", "orders:write", "barcodes:read"],
                    created_at=created,
                    created_by=creator,
                    last_used_at=None,
                    expires_at=None,
                    revoked_at=None,
                    revocation_reason=None,
                    ip_allowlist=[],
                    expires_soon=False,
                    stale=False,
                    exceeds_policy=False,
                    secrets=[
                        CredentialSecret(
                            id=strawberry.ID(str(uuid.uuid4())),
                            hint="a1B2",
                            created_at=created,
                            expires_at=None,
                            last_used_at=None,
                            safe_to_end=None,
                        )
                    ],
                    events=None,
                    restriction_lapsed=False,
                    auth_method=ClientAuthMethod.CLIENT_SECRET,
                    jwks_uri=None,
                    keys=[],
                ),
            )
        )
    return _Page(edges=edges)


PAGE = _page()


@strawberry.type
class Query:
    @strawberry.field
    def credentials(
        self,
        first: int | None = None,
        after: str | None = None,
        status: CredentialStatus | None = None,
    ) -> Connection:
        edges = PAGE.edges[: first or 20]
        return Connection(
            total_count=len(PAGE.edges),
            page_info=PageInfo(
                has_next_page=False,
                has_previous_page=False,
                start_cursor=edges[0].cursor,
                end_cursor=edges[-1].cursor,
            ),
            edges=edges,
        )


schema = strawberry.Schema(query=Query)
app = Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"])])
