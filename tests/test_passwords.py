"""Admin password hashing through the production paths (`create_admin`, the GraphQL `login`).

`auth.admins.passwords.hasher` sets the argon2id parameters of new hashes; each stored hash is
verified
with the parameters it records, and a sign-in for an unknown account costs a verification with the
parameters in use (GQ-10). The suite itself runs with a cheap hasher (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
import pytest
from argon2 import Parameters, PasswordHasher, extract_parameters

from auth.admins import passwords
from tests.helpers import PASSWORD, gql, make_admin, operation

ADMIN = "admin@acme.example"


class RecordingHasher(PasswordHasher):
    """A PasswordHasher that records the parameters of every hash it verifies."""

    def __init__(self, *, time_cost: int, memory_cost: int) -> None:
        super().__init__(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
        self.verified: list[Parameters] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        text = hash.decode("ascii") if isinstance(hash, bytes) else hash
        self.verified.append(extract_parameters(text))
        return super().verify(hash, password)


async def attempt(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    body = await gql(client, operation("Login"), {"email": email, "password": password})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["login"]
    return result


async def test_gq10_an_unknown_email_costs_a_verification_with_the_parameters_in_use(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dummy hash follows the hasher: an unknown e-mail and a wrong password for a real
    account verify against hashes of the same cost, so the answer time does not tell them apart."""
    hasher = RecordingHasher(time_cost=2, memory_cost=2048)
    monkeypatch.setattr(passwords, "hasher", hasher)
    await make_admin(email=ADMIN)

    unknown = await attempt(client, "nobody@acme.example", PASSWORD)
    wrong = await attempt(client, ADMIN, PASSWORD + "-wrong")

    assert unknown["__typename"] == wrong["__typename"] == "InvalidLogin"
    assert len(hasher.verified) == 2
    dummy, real = hasher.verified
    assert dummy == real
    assert (dummy.time_cost, dummy.memory_cost) == (2, 2048)


async def test_a_password_hashed_with_other_parameters_still_signs_in(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changing the parameters new hashes are made with locks no admin out."""
    with monkeypatch.context() as earlier:
        earlier.setattr(passwords, "hasher", PasswordHasher(time_cost=2, memory_cost=2048))
        await make_admin(email=ADMIN)

    signed_in = await attempt(client, ADMIN, PASSWORD)

    assert signed_in["__typename"] == "LoginSuccess", signed_in
