"""The peer: django-oauth-toolkit's client-credentials token endpoint, on the same machine.

Everything lives under var/bench-peer/ and stays out of our own virtualenv: a venv with pinned
Django 5.2, django-oauth-toolkit 3.4.1, uvicorn and gunicorn; a project made by `django-admin
startproject` (its default settings, plus the toolkit's app and URLs, DEBUG off and SQLite in WAL
mode); and a fresh SQLite database per measurement with two confidential client-credentials
Applications — one with the toolkit's default hashed secret (Django's default PBKDF2 hasher) and
one with `hash_client_secret=False`, the cheapest secret check it offers (plain comparison).

Served two ways, one worker each: uvicorn (ASGI, same flags as ours) and a gunicorn sync worker
(WSGI). The hashed secret costs about a second per request, so that case is measured with a
handful of sequential requests; the plaintext case with the same wrk load as ours.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import ROOT, serve, uvicorn_command

PEER = ROOT / "var" / "bench-peer"
VENV = PEER / "venv"
PYTHON = VENV / "bin" / "python"
PROJECT = PEER / "project"
# Pinned, so the comparison can be repeated; bump deliberately.
REQUIREMENTS = [
    "django==5.2.*",
    "django-oauth-toolkit==3.4.1",
    "uvicorn[standard]==0.54.0",
    "gunicorn==23.0.0",
]
PEER_ENDPOINT = "/o/token/"
# Appended to the settings `startproject` writes: the toolkit, production-like DEBUG, hosts, and
# the database file chosen per run (WAL, so the sync worker's one writer never waits on readers).
SETTINGS_TAIL = """
# --- added by bench/peer_dot.py ---
import os as _os

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS += ["oauth2_provider"]
DATABASES["default"]["NAME"] = _os.environ["PEER_DATABASE"]
DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;"}
LOGGING = {"version": 1, "disable_existing_loggers": False}
"""
URLS_TAIL = """
# --- added by bench/peer_dot.py ---
from django.urls import include as _include

urlpatterns += [path("o/", _include("oauth2_provider.urls", namespace="oauth2_provider"))]
"""
# Run inside the peer's venv (`manage.py shell`): two Applications, printed as JSON.
CREATE_APPLICATIONS = """
import json
from django.contrib.auth import get_user_model
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application

user = get_user_model().objects.create_user("bench", password=None)
found = {}
for name, hashed in (("pbkdf2", True), ("plaintext", False)):
    secret = generate_client_secret()
    application = Application.objects.create(
        name=name,
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=hashed,
    )
    found[name] = [application.client_id, secret]
print(json.dumps(found))
"""


@dataclass(frozen=True)
class PeerClient:
    client_id: str
    secret: str

    def basic(self) -> str:
        return base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()


def ensure_installed(log: bool = True) -> str:
    """Create var/bench-peer (venv + project) once; returns the installed versions."""
    marker = PEER / "requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not (PYTHON.exists() and marker.exists() and marker.read_text() == wanted):
        if PEER.exists():
            shutil.rmtree(PEER)
        PEER.mkdir(parents=True)
        if log:
            print("  creating var/bench-peer (venv, Django, django-oauth-toolkit)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
            check=True,
        )
        PROJECT.mkdir()
        subprocess.run(
            [str(VENV / "bin" / "django-admin"), "startproject", "peer", str(PROJECT)], check=True
        )
        with (PROJECT / "peer" / "settings.py").open("a") as settings:
            settings.write(SETTINGS_TAIL)
        with (PROJECT / "peer" / "urls.py").open("a") as urls:
            urls.write(URLS_TAIL)
        marker.write_text(wanted)
    versions = subprocess.run(
        [
            str(PYTHON),
            "-c",
            "import django, oauth2_provider; "
            "print(f'Django {django.__version__}, django-oauth-toolkit "
            "{oauth2_provider.__version__}')",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return versions


def _environment(database: Path) -> dict[str, str]:
    return {"DJANGO_SETTINGS_MODULE": "peer.settings", "PEER_DATABASE": str(database)}


def fresh_database(directory: Path) -> tuple[Path, dict[str, PeerClient]]:
    """Migrate a new SQLite file and create the two Applications."""
    database = directory / f"peer-{time.monotonic_ns()}.sqlite3"
    env = _environment(database)
    manage = [str(PYTHON), str(PROJECT / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--verbosity", "0"], env=env, cwd=PROJECT, check=True, text=True
    )
    created = subprocess.run(
        [*manage, "shell", "--command", CREATE_APPLICATIONS],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = json.loads(created.strip().splitlines()[-1])
    return database, {name: PeerClient(*pair) for name, pair in found.items()}


@contextmanager
def peer_server(server: str, database: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The peer under `uvicorn` (ASGI) or `gunicorn` (one sync worker), one worker either way."""
    env = {**_environment(database), "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}"}
    if server == "uvicorn":
        command = uvicorn_command(str(PYTHON), "peer.asgi:application", port, PROJECT)
    else:
        command = [
            str(VENV / "bin" / "gunicorn"), "peer.wsgi:application",
            "--chdir", str(PROJECT), "--workers", "1", "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ]  # fmt: skip
    with serve(command, port, env, PROJECT) as process:
        yield process


def token_request(port: int, client: PeerClient, http: httpx.Client) -> None:
    response = http.post(
        f"http://127.0.0.1:{port}{PEER_ENDPOINT}",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {client.basic()}"},
    )
    if response.status_code != 200 or "access_token" not in response.json():
        raise RuntimeError(f"peer token endpoint answered {response.status_code}: {response.text}")


def sequential_rate(port: int, client: PeerClient, count: int) -> float:
    """Requests per second over `count` back-to-back requests (one connection), after one
    warm-up request."""
    with httpx.Client(timeout=60) as http:
        token_request(port, client, http)
        started = time.perf_counter()
        for _ in range(count):
            token_request(port, client, http)
        return count / (time.perf_counter() - started)


def wrk_script(client: PeerClient, directory: Path) -> Path:
    path = directory / "peer-token.lua"
    path.write_text(
        f'local request_text = wrk.format("POST", "{PEER_ENDPOINT}", '
        f'{{["Authorization"] = "Basic {client.basic()}", '
        '["Content-Type"] = "application/x-www-form-urlencoded"}, '
        '"grant_type=client_credentials")\n'
        "request = function()\n  return request_text\nend\n"
    )
    return path


def pid_of_worker(process: subprocess.Popen[bytes], server: str) -> int:
    """uvicorn with one worker serves in its own process; gunicorn forks one worker."""
    if server == "uvicorn":
        return process.pid
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return int(children[0]) if children else process.pid
