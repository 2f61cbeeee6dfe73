"""The committed SDL is the contract the admin frontend and outside checks rely on."""

from __future__ import annotations

from pathlib import Path

from schema.root import schema

SDL = Path(__file__).resolve().parent.parent / "graphql" / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    """Fails when the schema changes without `make schema` (graphql/schema.graphql drifted)."""
    assert SDL.read_text(encoding="utf-8") == schema.as_str() + "\n"


def test_graphql_folder_is_not_a_python_package() -> None:
    """A graphql/__init__.py would shadow graphql-core for the whole process."""
    assert not (SDL.parent / "__init__.py").exists()


def test_contract_names_of_product_brief_are_present() -> None:
    sdl = schema.as_str()
    for name in (
        "login(email: String!, password: String!): LoginResult!",
        "logout: Boolean!",
        "createCredential(input: CreateCredentialInput!): CreateCredentialResult!",
        "regenerateCredentialSecret(input: RegenerateCredentialSecretInput!)",
        "revokeCredential(input: RevokeCredentialInput!): RevokeCredentialResult!",
        "updateCredential(input: UpdateCredentialInput!): UpdateCredentialResult!",
        "viewer: Viewer!",
        "partnerApi: PartnerApiInfo!",
        "credential(id: ID!): Credential",
        "union LoginResult = LoginSuccess | InvalidLogin",
    ):
        assert name in sdl, name
