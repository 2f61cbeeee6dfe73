"""The key material development generates for itself: where it lives, and making it once.

Production never generates keys (partner_api/foundation/settings_secrets.py refuses to start
without them).
In development a missing pepper or key-encryption key is generated once and kept in a directory
tied to the database rather than to the working directory, so `seed-demo` run in one directory and
`serve` in another use the same keys:

- PARTNER_API_DATA_DIR when it is set;
- otherwise beside a file-based SQLite database: the keys travel with the data they protect;
- otherwise (PostgreSQL, in-memory SQLite) the per-user data directory,
  `$XDG_DATA_HOME/partner-api` or `~/.local/share/partner-api`.

The database records which keys it belongs to, so keys from the wrong directory stop the start
with a message naming the file (auth/partners/key_fingerprints.py).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

PEPPER_FILE = "secret-pepper"
KEY_ENCRYPTION_KEY_FILE = "key-encryption-key"


def sqlite_file(database_url: str) -> Path | None:
    """The file of a file-based SQLite URL; None for other databases and `:memory:`."""
    prefix = "sqlite://"
    if not database_url.startswith(prefix):
        return None
    path = database_url[len(prefix) :].split("?", 1)[0]
    return None if not path or path == ":memory:" else Path(path)


def key_directory(*, data_dir: str, database_url: str, environ: Mapping[str, str]) -> Path:
    """The directory for generated keys; `data_dir` is PARTNER_API_DATA_DIR ("" when unset).

    Absolute: a relative setting is resolved against the working directory once, here.
    """
    if data_dir:
        return Path(data_dir).absolute()
    database_file = sqlite_file(database_url)
    if database_file is not None:
        return database_file.absolute().parent
    # XDG Base Directory specification: a relative XDG_DATA_HOME is invalid and ignored.
    xdg_data_home = Path(environ.get("XDG_DATA_HOME", "").strip() or ".")
    if not xdg_data_home.is_absolute():
        home = environ.get("HOME", "").strip()
        xdg_data_home = (Path(home) if home else Path.home()) / ".local" / "share"
    return xdg_data_home / "partner-api"


def read_or_generate(key_dir: Path, name: str) -> str:
    """The secret kept in `key_dir/name`, generated there on first use (readable by us only)."""
    path = key_dir / name
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process started at the same moment and won the race: use its value.
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value
