"""Result unions: every expected failure is a union member with a `message` (never an error)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.enums import CredentialStatus
from schema.policy_types import CredentialPolicy
from schema.types import Credential, Viewer


@strawberry.interface(description="An expected failure, shown to the user as it is.")
class UserError:
    message: str


@strawberry.type
class ValidationError(UserError):
    field: str = strawberry.field(description="The input field at fault, as named in the input.")


@strawberry.type
class PermissionDenied(UserError):
    pass


@strawberry.type
class NotFound(UserError):
    pass


@strawberry.type
class CredentialNotActive(UserError):
    status: CredentialStatus


@strawberry.type
class InvalidLogin(UserError):
    pass


@strawberry.type
class LoginThrottled(UserError):
    retry_after_seconds: int


@strawberry.type
class LoginSuccess:
    token: str = strawberry.field(description="Admin session token for `Authorization: Bearer`.")
    expires_at: datetime
    viewer: Viewer


@strawberry.type
class CredentialCreated:
    credential: Credential
    client_secret: str = strawberry.field(description="Shown this once; store it securely now.")


@strawberry.type(
    description=(
        "A PRIVATE_KEY_JWT credential: no secret exists; the client signs assertions with the "
        "private key of a registered public key."
    )
)
class KeyCredentialCreated:
    credential: Credential


@strawberry.type(description="The credential authenticates with a key pair and has no secret.")
class CredentialUsesKeys(UserError):
    pass


@strawberry.type
class CredentialSecretRegenerated:
    credential: Credential
    client_secret: str = strawberry.field(description="Shown this once; store it securely now.")


@strawberry.type
class CredentialRevoked:
    credential: Credential


@strawberry.type
class CredentialUpdated:
    credential: Credential


@strawberry.type
class PreviousSecretEnded:
    credential: Credential


@strawberry.type
class CredentialPolicyUpdated:
    policy: CredentialPolicy


LoginResult = Annotated[
    LoginSuccess | InvalidLogin | LoginThrottled, strawberry.union("LoginResult")
]
CreateCredentialResult = Annotated[
    CredentialCreated | KeyCredentialCreated | ValidationError | PermissionDenied,
    strawberry.union("CreateCredentialResult"),
]
RegenerateCredentialSecretResult = Annotated[
    CredentialSecretRegenerated
    | NotFound
    | CredentialNotActive
    | PermissionDenied
    | ValidationError
    | CredentialUsesKeys,
    strawberry.union("RegenerateCredentialSecretResult"),
]
RevokeCredentialResult = Annotated[
    CredentialRevoked | NotFound | PermissionDenied | ValidationError,
    strawberry.union("RevokeCredentialResult"),
]
UpdateCredentialResult = Annotated[
    CredentialUpdated | ValidationError | NotFound | CredentialNotActive | PermissionDenied,
    strawberry.union("UpdateCredentialResult"),
]
EndPreviousSecretResult = Annotated[
    PreviousSecretEnded | NotFound | CredentialNotActive | PermissionDenied | ValidationError,
    strawberry.union("EndPreviousSecretResult"),
]
UpdateCredentialPolicyResult = Annotated[
    CredentialPolicyUpdated | ValidationError | PermissionDenied,
    strawberry.union("UpdateCredentialPolicyResult"),
]

PERMISSION_DENIED = "Your role may view credentials but not change them."
NOT_FOUND = "No credential with this id exists in your organisation."
SECRET_NOT_FOUND = "This credential has no secret with this id."  # noqa: S105 (a message)
USES_KEYS = "This credential authenticates with a key pair; add or remove keys instead."
POLICY_PERMISSION_DENIED = "Your role may view the credential policy but not change it."
