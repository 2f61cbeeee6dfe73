"""The one grant this server supports: client credentials (RFC 6749 §4.4).

The client authenticates with its own credentials and receives an access token for itself; there
is no resource owner, no authorization endpoint and no refresh token (§4.4.3).
"""

GRANT_TYPE = "client_credentials"
