"""The ASGI application built from the environment: `uvicorn partner_api.asgi:app`."""

from partner_api.app import create_app
from partner_api.settings import Settings

app = create_app(Settings.from_env())
