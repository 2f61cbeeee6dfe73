"""The built wheel, installed outside the checkout, runs the whole service.

The wheel is built from this checkout with `pip wheel --no-deps --no-build-isolation --no-index`
(the build backend is in the dev extra, so nothing is downloaded) and installed with
`pip --python <venv> install --no-deps --no-index` into a fresh venv created without pip in a
temporary directory. The service's dependencies are not installed again: after the wheel is in
place, a `.pth` file in the fresh venv's site-packages appends this test environment's
site-packages to `sys.path`. Plain path lines in a `.pth` are not themselves scanned for `.pth`
files, so the checkout's editable install (a `.pth` or import hook there) stays inactive, and
the venv's own site-packages comes first: `partner_api` and its siblings come from the wheel, the
dependencies from the test environment, with no network and no dependency resolution.

`partner-api migrate` and `partner-api serve` then run from the temporary directory, with
PYTHONPATH unset, a fresh SQLite file and explicit keys, whatever database the rest of the suite
uses; the checks are what a user of the installed package would notice: the admin page's
operation documents and assets, GraphiQL's page and files, the developer documentation and the
OpenAPI document.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import sysconfig
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.live_process import free_port, start_serve, stop, wait_until_ready

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "graphql" / "operations"
ADMIN_ASSETS = ROOT / "partner_api" / "static" / "admin"
DOCS_ASSETS = ROOT / "partner_api" / "static" / "docs"
GRAPHIQL_ASSETS = ROOT / "partner_api" / "static" / "graphiql"
PACKAGES = ("partner_api", "schema", "resolvers", "models", "auth")
STEP_TIMEOUT_SECONDS = 60.0
PEPPER = "wheel-test-pepper-0123456789abcdefghijklmnop"
KEY_ENCRYPTION_KEY = "wheel-test-key-encryption-key-0123456789abcdef"


@dataclass(frozen=True)
class InstalledServer:
    base_url: str
    venv_python: Path
    site_packages: Path
    directory: Path
    environment: dict[str, str]


async def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command to completion; its stdout, or a failure with its output."""
    process = await asyncio.create_subprocess_exec(
        *(str(arg) for arg in args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), STEP_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{args} did not finish in {STEP_TIMEOUT_SECONDS:.0f} s")
    if process.returncode != 0:
        pytest.fail(f"{args} exited with {process.returncode}:\n{stdout.decode()}{stderr.decode()}")
    return stdout.decode()


def _pip_environment() -> dict[str, str]:
    """This environment without pip configuration or PYTHONPATH that could reach elsewhere."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PIP_") and name != "PYTHONPATH"
    } | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}


async def _install_wheel(directory: Path) -> tuple[Path, Path]:
    """Build the wheel, install it into a fresh venv; the venv's python and site-packages."""
    dist = directory / "dist"
    await _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--wheel-dir",
        dist,
        ROOT,
        cwd=directory,
        env=_pip_environment(),
    )
    (wheel,) = dist.glob("partner_api_credentials-*.whl")
    venv = directory / "venv"
    await _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=directory)
    python = venv / "bin" / "python"
    await _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=directory,
        env=_pip_environment(),
    )
    query = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site_packages = Path((await _run(python, "-c", query, cwd=directory)).strip())
    # Written only now, so that pip saw an empty venv and did not meet the checkout's install.
    dependencies = dict.fromkeys((sysconfig.get_path("purelib"), sysconfig.get_path("platlib")))
    (site_packages / "_test_environment_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in dependencies), encoding="utf-8"
    )
    return python, site_packages


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def installed_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[InstalledServer]:
    directory = tmp_path_factory.mktemp("wheel")
    assert not directory.is_relative_to(ROOT)
    python, site_packages = await _install_wheel(directory)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(directory),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite://{directory / 'wheel.sqlite3'}",
        "PARTNER_API_SECRET_PEPPER": PEPPER,
        "PARTNER_API_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
        "PARTNER_API_DATA_DIR": str(directory),
        "PARTNER_API_ISSUER": base_url,
    }
    cli = python.parent / "partner-api"
    await _run(cli, "migrate", cwd=directory, env=environment)
    log = directory / "serve.log"
    process = await start_serve(environment, directory, port, log, cli=cli)
    try:
        await wait_until_ready(process, base_url, log)
        yield InstalledServer(base_url, python, site_packages, directory, environment)
    finally:
        await stop(process)


async def test_the_installed_service_runs_its_own_code_not_the_checkout(
    installed_server: InstalledServer,
) -> None:
    """What `partner-api` imports is the wheel's copy in the venv (the admin page's operation
    documents included), and `graphql` is still graphql-core."""
    probe = (
        "import json, graphql, "
        + ", ".join(PACKAGES)
        + "; from partner_api.web.admin_page import OPERATIONS_DIRECTORY; print(json.dumps({"
        + ", ".join(f"'{name}': {name}.__file__" for name in PACKAGES)
        + ", 'operations': str(OPERATIONS_DIRECTORY), 'graphql': graphql.__file__}))"
    )
    output = await _run(
        installed_server.venv_python,
        "-c",
        probe,
        cwd=installed_server.directory,
        env=installed_server.environment,
    )
    locations = {name: Path(path) for name, path in json.loads(output).items()}
    for name in (*PACKAGES, "operations"):
        assert locations[name].is_relative_to(installed_server.site_packages), (name, locations)
    assert locations["operations"].is_dir()
    assert locations["operations"].is_relative_to(locations["partner_api"].parent)
    assert locations["graphql"].parent.name == "graphql"
    assert (locations["graphql"].parent / "graphql.py").is_file()  # graphql-core's own module


async def test_the_installed_admin_page_serves_every_operation_document(
    installed_server: InstalledServer,
) -> None:
    fragments = (OPERATIONS / "fragments.graphql").read_text(encoding="utf-8")
    expected = {
        path.stem: path.read_text(encoding="utf-8")
        for path in OPERATIONS.glob("*.graphql")
        if path.name != "fragments.graphql"
    }
    async with httpx.AsyncClient(base_url=installed_server.base_url, trust_env=False) as http:
        page = await http.get("/settings/organisation/partner-api")
        response = await http.get("/settings/assets/operations.json")
    assert page.status_code == 200
    assert response.status_code == 200
    served: dict[str, str] = response.json()
    assert set(served) == set(expected)
    for name, document in expected.items():
        assert served[name].startswith(document)
        assert ("fragment CredentialFields" in served[name]) == ("...CredentialFields" in document)
    assert any(fragments in document for document in served.values())


async def test_the_installed_service_serves_every_static_asset(
    installed_server: InstalledServer,
) -> None:
    """The admin page's scripts, stylesheet and icon and the documentation's stylesheet, as in
    the checkout."""
    assets = {f"/settings/assets/{path.name}": path for path in sorted(ADMIN_ASSETS.iterdir())} | {
        f"/docs/assets/{path.name}": path for path in sorted(DOCS_ASSETS.iterdir())
    }
    async with httpx.AsyncClient(base_url=installed_server.base_url, trust_env=False) as http:
        for url, path in assets.items():
            response = await http.get(url)
            assert response.status_code == 200, url
            assert response.content == path.read_bytes(), url


async def test_the_installed_service_serves_graphiql_and_its_vendored_files(
    installed_server: InstalledServer,
) -> None:
    """GraphiQL's page (on in development) and every file it loads, from the wheel's copy."""
    async with httpx.AsyncClient(base_url=installed_server.base_url, trust_env=False) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        files = re.findall(r'"(graphql/assets/[0-9a-f]+/([\w.-]+))"', page.text)
        assert "graphiql.min.js" in {name for _, name in files}
        for url, name in files:
            response = await http.get(f"/{url}")
            assert response.status_code == 200, url
            assert "immutable" in response.headers["cache-control"], url
            checkout = [GRAPHIQL_ASSETS / name, GRAPHIQL_ASSETS / "vendor" / name]
            assert response.content in [path.read_bytes() for path in checkout if path.exists()]


async def test_the_installed_service_serves_its_documentation_and_openapi(
    installed_server: InstalledServer,
) -> None:
    async with httpx.AsyncClient(base_url=installed_server.base_url, trust_env=False) as http:
        docs = await http.get("/docs")
        openapi = await http.get("/openapi.json")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "/oauth/token" in docs.text
    # The automation section quotes the rotation script, which the wheel carries.
    assert "def wait_until_safe_to_end(" in docs.text
    assert openapi.status_code == 200
    document = openapi.json()
    assert document["openapi"].startswith("3.1")
    assert "/oauth/token" in document["paths"]
    assert "/partner/v1/me" in document["paths"]
