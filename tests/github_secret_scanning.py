"""GitHub's side of secret scanning, for tests/test_secret_scanning*.py: a key server on 127.0.0.1
(uvicorn in this process) that publishes P-256 public keys in GitHub's format, and reports signed
as GitHub signs them (ECDSA P-256, SHA-256 over the raw body, base64 DER), with locally generated
keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.live_process import free_port
from tests.local_server import serve_locally

PATH = "/secret-scanning/github"
TOKEN_TYPE = "partner_api_client_secret"
LEAK_URL = "https://github.com/octo/box-office/blob/4f2a/config/settings.py"


@dataclass(frozen=True)
class SigningKey:
    identifier: str
    private: ec.EllipticCurvePrivateKey
    current: bool = True

    @classmethod
    def generate(cls, *, current: bool = True) -> SigningKey:
        private = ec.generate_private_key(ec.SECP256R1())
        der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(hashlib.sha256(der).hexdigest(), private, current)

    def published(self) -> dict[str, object]:
        pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "key_identifier": self.identifier,
            "key": pem.decode("ascii"),
            "is_current": self.current,
        }

    def sign(self, body: bytes) -> str:
        signature = self.private.sign(body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")

    def headers(self, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": self.identifier,
            "Github-Public-Key-Signature": self.sign(body),
        }


@dataclass
class GitHub:
    """The key server: `listed` is what it publishes now; `fetches` counts the requests."""

    port: int
    listed: list[SigningKey] = field(default_factory=list)
    fetches: int = 0

    @property
    def keys_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/meta/public_keys/secret_scanning"

    @property
    def key(self) -> SigningKey:
        return self.listed[0]

    async def public_keys(self, request: Request) -> JSONResponse:
        self.fetches += 1
        return JSONResponse({"public_keys": [key.published() for key in self.listed]})


def match(
    token: str, *, url: str = LEAK_URL, source: str = "content", token_type: str = TOKEN_TYPE
) -> dict[str, str]:
    return {"token": token, "type": token_type, "url": url, "source": source}


def report_body(*matches: dict[str, str]) -> bytes:
    return json.dumps(list(matches)).encode()


async def send(
    client: httpx.AsyncClient, body: bytes, key: SigningKey | None, **headers: str
) -> httpx.Response:
    """POST `body`, signed by `key` (unsigned when None); `headers` replace the signed ones."""
    sent = key.headers(body) if key is not None else {"Content-Type": "application/json"}
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    return await client.post(PATH, content=body, headers=sent)


@asynccontextmanager
async def serve_github(*keys: SigningKey) -> AsyncIterator[GitHub]:
    github = GitHub(port=free_port(), listed=list(keys) or [SigningKey.generate()])
    app = Starlette(
        routes=[Route("/meta/public_keys/secret_scanning", github.public_keys, methods=["GET"])]
    )
    async with serve_locally(app, port=github.port):
        yield github
