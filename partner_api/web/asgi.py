"""The ASGI application built from the environment: `uvicorn partner_api.web.asgi:app`."""

from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app

app = create_app(Settings.from_env())
