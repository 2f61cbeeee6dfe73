"""Running the real `partner-api` console script in a subprocess, for the tests that need a live
server on loopback (third-party OAuth clients, the browser suite)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CLI = Path(sys.executable).parent / "partner-api"
STARTUP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def run_cli(env: dict[str, str], cwd: Path, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"partner-api {' '.join(args)}: {stderr.decode()}"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


async def run_command(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> Run:
    """Run `partner-api <args>` to completion (60 s at most), whatever its exit code."""
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"partner-api {' '.join(args)} did not exit in 60 s") from None
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


async def command(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> str:
    """Run `partner-api <args>`, which must succeed; its stdout."""
    result = await run_command(env, cwd, *args, stdin=stdin)
    assert result.code == 0, f"partner-api {' '.join(args)}: {result.stderr}"
    return result.stdout


def server_base_environment(
    directory: Path,
    database_url: str,
    *,
    redis_url: str,
    pepper: str,
    key_encryption_key: str,
    issuer: str,
) -> dict[str, str]:
    """The environment every live `partner-api` process of a test needs; tests add their limits."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(directory),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PARTNER_API_SECRET_PEPPER": pepper,
        "PARTNER_API_KEY_ENCRYPTION_KEY": key_encryption_key,
        "PARTNER_API_DATA_DIR": str(directory),
        "PARTNER_API_ISSUER": issuer,
    }


async def start_serve(
    env: dict[str, str], cwd: Path, port: int, log: Path, *, cli: Path = CLI
) -> asyncio.subprocess.Process:
    """`partner-api serve` on 127.0.0.1:`port`, its output (stdout and stderr) in `log`."""
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            str(cli),
            *("serve", "--host", "127.0.0.1", "--port", str(port)),
            stdout=output,
            stderr=output,
            env=env,
            cwd=cwd,
        )


def server_log(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


async def wait_until_ready(process: asyncio.subprocess.Process, base_url: str, log: Path) -> None:
    """Poll /readyz (bounded); fail with the server's own output if it exits or never answers."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    async with httpx.AsyncClient(base_url=base_url, timeout=1.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                pytest.fail(
                    f"partner-api serve exited with {process.returncode}:\n{server_log(log)}"
                )
            try:
                response = await http.get("/readyz")
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                return
            await asyncio.sleep(0.1)
    pytest.fail(
        f"partner-api serve was not ready in {STARTUP_TIMEOUT_SECONDS:.0f} s:\n{server_log(log)}"
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout=10)
    except TimeoutError:
        process.kill()
        await asyncio.wait_for(process.wait(), timeout=10)
