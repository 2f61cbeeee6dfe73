# Partner API credentials service — production image.
# Reviewed by hand; it has not been built here (no Docker engine on the development machines).
#
#   docker build -t partner-api .
#   docker run --env-file partner-api.env \
#     -v /srv/secrets/partner-api:/run/secrets:ro -p 8000:8000 partner-api
#
# Key material is mounted, never baked in: set PARTNER_API_SECRET_PEPPER_FILE and
# PARTNER_API_KEY_ENCRYPTION_KEY_FILE to files under /run/secrets (deploy/partner-api.env.example).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PARTNER_API_ENV=production \
    PARTNER_API_DATA_DIR=/var/lib/partner-api

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY partner_api/__init__.py partner_api/
COPY auth/__init__.py auth/
COPY models/__init__.py models/
COPY schema/__init__.py schema/
COPY resolvers/__init__.py resolvers/
RUN pip install . && pip uninstall -y partner-api-credentials
# The code, installed in place: the admin page reads its GraphQL documents from graphql/operations
# next to the package, which a wheel would not carry.
COPY . .
RUN pip install --no-deps -e . \
 && useradd --system --uid 10001 --home-dir /var/lib/partner-api --create-home partner-api
USER partner-api

EXPOSE 8000
# /healthz: the process answers; orchestrators should use /readyz for traffic (database + Redis).
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=1).status != 200)"
# One process per container: scale with replicas (metrics and health are then per replica).
# `serve` applies migrations under a database lock first, so replicas may start together.
CMD ["partner-api", "serve", "--host", "0.0.0.0", "--port", "8000"]
