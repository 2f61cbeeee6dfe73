# Partner API credentials service — production image.
# Reviewed by hand; it has not been built here (no Docker engine on the development machines).
#
#   docker build -t partner-api .
#   docker run --env-file partner-api.env \
#     -v /srv/secrets/partner-api:/run/secrets:ro -p 8000:8000 partner-api
#
# Key material is mounted, never baked in: set PARTNER_API_SECRET_PEPPER_FILE and
# PARTNER_API_KEY_ENCRYPTION_KEY_FILE to files under /run/secrets (deploy/partner-api.env.example).

# The wheel, built from the checkout. It carries everything the service reads at run time: the
# packages, their static assets and the GraphQL documents of graphql/ (tests/test_wheel.py runs
# the same wheel outside the repository).
FROM python:3.11-slim-bookworm AS wheel
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PARTNER_API_ENV=production \
    PARTNER_API_DATA_DIR=/var/lib/partner-api

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c 'import sys, tomllib; print(*tomllib.load(sys.stdin.buffer)["project"]["dependencies"], sep="\n")' \
      < /tmp/pyproject.toml > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/pyproject.toml /tmp/requirements.txt
# The service itself: the wheel only, no source tree in the image. Its dependencies are met above,
# so pip downloads nothing here.
COPY --from=wheel /wheels /tmp/wheels
RUN pip install /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels \
 && useradd --system --uid 10001 --home-dir /var/lib/partner-api --create-home partner-api
USER partner-api
WORKDIR /var/lib/partner-api

EXPOSE 8000
# /healthz: the process answers; orchestrators should use /readyz for traffic (database + Redis).
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=1).status != 200)"
# One process per container: scale with replicas (metrics and health are then per replica).
# `serve` applies migrations under a database lock first, so replicas may start together.
CMD ["partner-api", "serve", "--host", "0.0.0.0", "--port", "8000"]
