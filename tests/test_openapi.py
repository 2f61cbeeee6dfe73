"""The OpenAPI 3.1 document at /openapi.json: valid, complete (every route the app serves is in it,
with the same methods, and nothing else is), and truthful about scopes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from models.enums import AccessLevel
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.openapi import openapi_document
from tests.helpers import make_admin, make_credential

# Not part of the partner-facing contract: the admin GraphQL API and the admin page on top of it
# (/settings/…), the health probes, the operators' /metrics, and the docs page's own assets.
# Anything else must be documented: add a prefix here only for a surface partners never call.
UNDOCUMENTED_PREFIXES = (
    "/graphql",
    "/settings/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs/assets",
    # Called by GitHub's secret scanning, not by partners: documented in the README for the
    # platform operator, in GitHub's own format.
    "/secret-scanning/",
)
OPERATION_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_PATH_PARAMETER = re.compile(r"\{[^}]*\}")

Operation = tuple[str, str]  # (METHOD, path with {} for each parameter)


def _shape(path: str) -> str:
    """`/events/{event_id:uuid}` and `/events/{id}` are the same endpoint to a client."""
    return _PATH_PARAMETER.sub("{}", path)


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    for route in routes:
        if isinstance(route, Mount):
            path = prefix + route.path
            if not path.startswith(UNDOCUMENTED_PREFIXES):
                # A mounted app without routes would be a surface nobody can list: report it.
                yield path, route
            yield from _walk(list(route.routes), path)
        else:
            yield prefix + getattr(route, "path", ""), route


async def served_operations(app: Starlette, client: httpx.AsyncClient) -> set[Operation]:
    """Every (method, path) the app really serves. A route may accept a method only to refuse
    it (the OAuth endpoints answer 405 to anything but POST), so each method is asked once."""
    served: set[Operation] = set()
    for path, route in _walk(list(app.routes)):
        if path.startswith(UNDOCUMENTED_PREFIXES):
            continue
        if not isinstance(route, Route):
            served.add(("MOUNT", _shape(path)))
            continue
        url = _PATH_PARAMETER.sub(str(uuid.uuid4()), path)
        # No method list: the route takes every method (the OAuth endpoints refuse them itself).
        for method in sorted((route.methods or OPERATION_METHODS) & OPERATION_METHODS):
            response = await client.request(method, url)
            if response.status_code != 405:
                served.add((method, _shape(path)))
    return served


def documented_operations(document: dict[str, Any]) -> set[Operation]:
    return {
        (method.upper(), _shape(path))
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in OPERATION_METHODS
    }


def test_the_document_is_valid_openapi_3_1(settings: Settings) -> None:
    document = openapi_document(settings)

    validate(document)  # raises on any violation of the OpenAPI 3.1 schema

    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": settings.issuer}]


async def test_openapi_json_serves_the_document(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == openapi_document(settings)


async def test_every_served_route_is_documented_with_its_methods(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    served = await served_operations(app, client)

    undocumented = served - documented_operations(openapi_document(settings))

    assert not undocumented, f"served but missing from /openapi.json: {sorted(undocumented)}"
    # The OAuth endpoints accept every method only to refuse them: POST is their one operation.
    assert ("POST", "/oauth/token") in served
    assert ("GET", "/oauth/token") not in served


async def test_every_documented_operation_is_served(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    documented = documented_operations(openapi_document(settings))

    phantom = documented - await served_operations(app, client)

    assert not phantom, f"in /openapi.json but not served: {sorted(phantom)}"


async def test_the_completeness_check_catches_a_new_undocumented_route(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    """Guards the guard: a route added without documentation must be reported."""

    async def endpoint(request: Request) -> Response:
        return Response(status_code=204)

    app.router.routes.append(Route("/partner/v1/venues/{venue_id}", endpoint, methods=["DELETE"]))
    app.router.routes.append(Mount("/partner/v2", routes=[]))

    undocumented = await served_operations(app, client) - documented_operations(
        openapi_document(settings)
    )

    assert ("DELETE", "/partner/v1/venues/{}") in undocumented
    assert ("MOUNT", "/partner/v2") in undocumented


def test_security_scheme_scopes_are_the_catalogue(settings: Settings) -> None:
    schemes = openapi_document(settings)["components"]["securitySchemes"]

    flow = schemes["partnerOAuth"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == settings.token_endpoint
    assert flow["scopes"] == {scope.name: scope.description for scope in CATALOGUE}
    assert schemes["clientBasic"] == {
        "type": "http",
        "scheme": "basic",
        "description": schemes["clientBasic"]["description"],
    }


def test_every_partner_operation_names_its_scope_and_errors(settings: Settings) -> None:
    document = openapi_document(settings)
    catalogue = {scope.name for scope in CATALOGUE}
    required: set[str] = set()
    for path, item in document["paths"].items():
        if not path.startswith("/partner/v1/"):
            continue
        for method, operation in item.items():
            (requirement,) = operation["security"]
            scopes = requirement["partnerOAuth"]
            assert set(scopes) <= catalogue, (method, path)
            required.update(scopes)
            responses = operation["responses"]
            assert {"401", "429"} <= set(responses), (method, path)
            assert ("403" in responses) == bool(scopes), (method, path)
            success = next(r for status, r in responses.items() if status.startswith("2"))
            assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(
                success["headers"]
            )
            assert "Retry-After" in responses["429"]["headers"]
    # Every scope a partner can be granted opens at least one endpoint.
    assert required == catalogue


def test_token_endpoint_documents_the_rfc_6749_exchange(settings: Settings) -> None:
    operation = openapi_document(settings)["paths"]["/oauth/token"]["post"]

    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form == {"$ref": "#/components/schemas/TokenRequest"}
    assert set(operation["responses"]) == {"200", "400", "401", "405", "429", "500"}
    assert operation["security"] == [{"clientBasic": []}, {}]
    schemas = openapi_document(settings)["components"]["schemas"]
    assert set(schemas["TokenRequest"]["properties"]) == {
        "grant_type",
        "scope",
        "authorization_details",
        "client_id",
        "client_secret",
        "client_assertion_type",
        "client_assertion",
    }
    assert schemas["TokenResponse"]["required"] == [
        "access_token",
        "token_type",
        "expires_in",
        "scope",
    ]


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_documented_scopes_are_the_ones_the_api_enforces(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """For each operation, a token holding every scope but the documented one is refused with a
    403 that names that very scope; `/me`, documented without a scope, takes any token."""
    _, organisation, _ = await make_admin()
    tokens_without: dict[str, str] = {}
    for scope in CATALOGUE:
        others = [other.name for other in CATALOGUE if other.name != scope.name]
        issued = await make_credential(
            organisation=organisation,
            name=f"All but {scope.name}",
            access_level=AccessLevel.FINE_GRAINED,
            scopes=others,
        )
        tokens_without[scope.name] = await _token(
            client, issued.credential.client_id, issued.secret_value
        )
    document = openapi_document(settings)

    for path, item in document["paths"].items():
        if not path.startswith("/partner/v1/"):
            continue
        url = _PATH_PARAMETER.sub(str(uuid.uuid4()), path)
        for method, operation in item.items():
            (scopes,) = (requirement["partnerOAuth"] for requirement in operation["security"])
            for missing, token in tokens_without.items():
                headers = {"Authorization": f"Bearer {token}"}
                response = await client.request(method.upper(), url, headers=headers)
                if missing in scopes:
                    assert response.status_code == 403, (method, path, response.text)
                    assert response.json()["scope"] == missing
                    assert f'scope="{missing}"' in response.headers["www-authenticate"]
                else:
                    assert response.status_code != 403, (method, path, missing, response.text)


@pytest.mark.parametrize("issuer", ["https://partners.tickets.example"])
def test_the_document_follows_the_configured_issuer(settings: Settings, issuer: str) -> None:
    custom = Settings(
        issuer=issuer,
        secret_peppers=settings.secret_peppers,
        key_encryption_key=settings.key_encryption_key,
    )

    document = openapi_document(custom)

    assert document["servers"] == [{"url": issuer}]
    flow = document["components"]["securitySchemes"]["partnerOAuth"]["flows"]
    assert flow["clientCredentials"]["tokenUrl"] == f"{issuer}/oauth/token"
    assert document["externalDocs"]["url"] == f"{issuer}/docs"
