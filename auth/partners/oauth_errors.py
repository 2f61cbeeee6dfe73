"""OAuth 2.0 error responses (RFC 6749 §5.2), one class per error code, turned into a response in
exactly one place (`error_response`).

    OAuth2Error (400)
     ├── InvalidRequest            invalid_request
     ├── InvalidClient (401)       invalid_client — one body for every reason (CR-05, TE-14)
     ├── UnsupportedGrantType      unsupported_grant_type
     ├── InvalidScope              invalid_scope
     ├── InvalidAuthorizationDetails  invalid_authorization_details (RFC 9396 §5)
     ├── MethodNotAllowed (405)    invalid_request
     ├── ServerError (500)         server_error — unexpected faults, nothing more said
     └── TooManyRequests (429)     temporarily_unavailable, with Retry-After
"""

from __future__ import annotations

import re
from typing import ClassVar

from partner_api.foundation.error_body import error_body
from partner_api.foundation.json_response import JSONResponse

# RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only.
_ALLOWED = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")

NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BASIC_CHALLENGE = 'Basic realm="partner-api", charset="UTF-8"'


class OAuth2Error(Exception):
    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description or self.error)
        if description is not None and _ALLOWED.fullmatch(description) is None:
            raise ValueError("error_description outside the RFC 6749 §5.2 character set")
        self.description = description

    def headers(self) -> dict[str, str]:
        return dict(NO_STORE_HEADERS)


class InvalidRequest(OAuth2Error):
    error = "invalid_request"


class InvalidClient(OAuth2Error):
    error = "invalid_client"
    status_code = 401

    def __init__(self) -> None:
        # Deliberately fixed: unknown client, wrong secret, revoked, expired, disallowed address.
        super().__init__("Client authentication failed.")

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "WWW-Authenticate": BASIC_CHALLENGE}


class UnsupportedGrantType(OAuth2Error):
    error = "unsupported_grant_type"


class InvalidScope(OAuth2Error):
    error = "invalid_scope"


class InvalidAuthorizationDetails(OAuth2Error):
    error = "invalid_authorization_details"


class MethodNotAllowed(OAuth2Error):
    error = "invalid_request"
    status_code = 405

    def __init__(self) -> None:
        super().__init__("Use POST.")

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Allow": "POST"}


class ServerError(OAuth2Error):
    """An unexpected fault: fail closed with a generic body (LG-03); details go to the log only."""

    error = "server_error"
    status_code = 500

    def __init__(self) -> None:
        super().__init__("The server could not handle the request.")


class TooManyRequests(OAuth2Error):
    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many requests. Retry later.")
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Retry-After": str(self.retry_after)}


def error_response(error: OAuth2Error) -> JSONResponse:
    return JSONResponse(
        error_body(error.error, error.description or None),
        status_code=error.status_code,
        headers=error.headers(),
    )
