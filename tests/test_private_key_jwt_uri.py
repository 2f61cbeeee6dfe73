"""Keys published at a credential's `jwks_uri` (auth/partners/jwks_fetch.py), served by a key
server on loopback: fetched with the webhook safety (WH-03), cached, refetched for an unknown
`kid` at most every 30 s, bounded in size, and recorded as CredentialKey rows on first use."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from auth.partners.jwks_fetch import REFETCH_SECONDS
from models.credential import Credential, CredentialKey
from models.organisation import Organisation
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import make_admin
from tests.key_clients import KeyPair, assertion, assertion_form, jwks, key_pair
from tests.key_clients import make_key_credential as make_credential_with
from tests.local_server import serve_locally
from tests.test_private_key_jwt import assert_uniform_invalid_client

TOKEN = "/oauth/token"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@dataclass
class KeyServer:
    """Publishes `published` at /jwks; counts every request by path."""

    published: list[KeyPair]
    hits: Counter[str] = field(default_factory=Counter)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def app(self) -> Starlette:
        async def keys(request: Request) -> Response:
            self.hits[request.url.path] += 1
            return JSONResponse(jwks(*self.published))

        async def redirect(request: Request) -> Response:
            self.hits[request.url.path] += 1
            return RedirectResponse(self.url("/jwks"), status_code=302)

        async def oversized(request: Request) -> Response:
            self.hits[request.url.path] += 1
            document = jwks(*self.published)
            document["padding"] = "x" * (64 * 1024)
            return JSONResponse(document)

        async def ten_thousand(request: Request) -> Response:
            self.hits[request.url.path] += 1
            one = jwks(*self.published)["keys"][0]
            keys = [{**one, "kid": f"k{index}"} for index in range(10_000)]
            return JSONResponse({"keys": keys})

        return Starlette(
            routes=[
                Route("/jwks", keys),
                Route("/redirect", redirect),
                Route("/oversized", oversized),
                Route("/ten-thousand", ten_thousand),
            ]
        )


@pytest.fixture
async def key_server() -> AsyncIterator[KeyServer]:
    server = KeyServer(published=[key_pair("ES256")])
    async with serve_locally(server.app()) as port:
        server.port = port
        yield server


@pytest.fixture
async def organisation(app: Starlette) -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


async def _credential(organisation: Organisation, uri: str) -> Credential:
    return await make_credential_with(organisation=organisation, jwks_uri=uri)


async def _token(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(TOKEN, data=assertion_form(token))


async def test_pk01_keys_from_a_jwks_uri_obtain_a_token_and_are_recorded_on_first_use(
    app: Starlette, client: httpx.AsyncClient, organisation: Organisation, key_server: KeyServer
) -> None:
    credential = await _credential(organisation, key_server.url("/jwks"))
    pair = key_server.published[0]
    assert await CredentialKey.filter(credential_id=credential.id).count() == 0
    for _ in range(3):
        response = await _token(client, assertion(pair, credential.client_id))
        assert response.status_code == 200, response.text
    assert key_server.hits["/jwks"] == 1  # cached for the next assertions
    await app.state.services.authorization_server.housekeeping(force=True)
    row = await CredentialKey.get(credential_id=credential.id, kid=pair.kid)
    assert row.from_uri
    assert row.alg == "ES256"
    assert row.last_used_at is not None
    assert not PRIVATE_MEMBERS & set(row.jwk)
    assert row.jwk == {name: pair.public_jwk()[name] for name in row.jwk}


async def test_wh03_a_jwks_uri_that_redirects_is_invalid_client_and_not_followed(
    client: httpx.AsyncClient, organisation: Organisation, key_server: KeyServer
) -> None:
    credential = await _credential(organisation, key_server.url("/redirect"))
    token = assertion(key_server.published[0], credential.client_id)
    assert_uniform_invalid_client(await _token(client, token))
    assert key_server.hits == Counter({"/redirect": 1})  # the target is never fetched


async def test_wh03_a_loopback_jwks_uri_is_never_fetched_in_production(
    settings: Settings, organisation: Organisation, key_server: KeyServer
) -> None:
    app = create_app(replace(settings, env="production"), manage_database=False)
    credential = await _credential(organisation, key_server.url("/jwks"))
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        token = assertion(key_server.published[0], credential.client_id)
        assert_uniform_invalid_client(await _token(client, token))
    assert sum(key_server.hits.values()) == 0


async def test_pk02_an_unknown_kid_refetches_at_most_every_30_seconds(
    app: Starlette, client: httpx.AsyncClient, organisation: Organisation, key_server: KeyServer
) -> None:
    fetcher = app.state.services.authorization_server.jwks
    now = [1000.0]
    fetcher.clock = lambda: now[0]
    credential = await _credential(organisation, key_server.url("/jwks"))
    old = key_server.published[0]
    assert (await _token(client, assertion(old, credential.client_id))).status_code == 200
    assert key_server.hits["/jwks"] == 1

    # The partner rotates; an assertion with the new kid inside 30 s of the last fetch is
    # refused without a fetch, however many arrive (a few here: ten failures
    # in a row throttle the client).
    new = key_pair("ES256")
    key_server.published = [old, new]
    now[0] += REFETCH_SECONDS - 1
    for _ in range(3):
        assert_uniform_invalid_client(await _token(client, assertion(new, credential.client_id)))
    assert key_server.hits["/jwks"] == 1

    now[0] += 2  # 30 s after the last fetch: one refetch finds the new key
    assert (await _token(client, assertion(new, credential.client_id))).status_code == 200
    assert key_server.hits["/jwks"] == 2

    made_up = assertion(old, credential.client_id, headers={"kid": "made-up"})
    for _ in range(3):
        assert_uniform_invalid_client(await _token(client, made_up))
    assert key_server.hits["/jwks"] == 2
    now[0] += REFETCH_SECONDS
    assert_uniform_invalid_client(
        await _token(client, assertion(old, credential.client_id, headers={"kid": "other"}))
    )
    assert key_server.hits["/jwks"] == 3


@pytest.mark.parametrize("path", ["/oversized", "/ten-thousand"])
async def test_wh03_an_oversized_published_key_set_is_invalid_client(
    client: httpx.AsyncClient, organisation: Organisation, key_server: KeyServer, path: str
) -> None:
    """Over 64 KiB (and 10,000 keys is far over) is refused whole: the read stops at the cap."""
    credential = await _credential(organisation, key_server.url(path))
    token = assertion(key_server.published[0], credential.client_id)
    assert_uniform_invalid_client(await _token(client, token))
    assert key_server.hits[path] == 1
    assert await CredentialKey.filter(credential_id=credential.id).count() == 0
