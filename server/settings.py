"""Server settings: embedded defaults, overridden by environment variables.

Every setting has a default that lets ``lingkar serve`` start on one machine with nothing
configured: an SQLite file and a self-signed certificate in the data directory, https on 8443.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 8443
DEFAULT_DATA_DIR = Path("data")
# The database back-ends the same code is tested on; each maps to its asyncio driver.
ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "psycopg"}
SECRET_KEY_BYTES = 32


class SettingsError(ValueError):
    """A setting has a value the server cannot start with; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    # None: generate (once) a self-signed certificate in data_dir/tls.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Plain http, for running behind a TLS-terminating reverse proxy only.
    insecure_http: bool = False
    # None: an SQLite file in data_dir. Otherwise an SQLAlchemy URL (sqlite or postgresql).
    database_url: str | None = None
    # None: a random key made once in data_dir/secret.key. Otherwise 64 hex digits (32 bytes):
    # the key that encrypts login cookies, shared by every process of one installation.
    secret_key: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port: {self.port} is not a TCP port (0-65535)")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("tls_cert and tls_key: give both, or neither to generate one")
        if self.database_url is not None:
            _parse_database_url(self.database_url)
        if self.secret_key is not None:
            _parse_secret_key(self.secret_key)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "lingkar.sqlite3"

    @property
    def async_database_url(self) -> URL:
        """The database URL with its asyncio driver (sqlite+aiosqlite, postgresql+psycopg)."""
        if self.database_url is None:
            return URL.create("sqlite+aiosqlite", database=str(self.database_path))
        return _parse_database_url(self.database_url)

    @property
    def secret_key_bytes(self) -> bytes | None:
        return None if self.secret_key is None else _parse_secret_key(self.secret_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``LINGKAR_*`` variables; keyword overrides win (the CLI's flags)."""
        source = os.environ if env is None else env
        values: dict[str, object] = {}
        if "LINGKAR_HOST" in source:
            values["host"] = source["LINGKAR_HOST"]
        if "LINGKAR_PORT" in source:
            values["port"] = _parse_int("LINGKAR_PORT", source["LINGKAR_PORT"])
        if "LINGKAR_DATA_DIR" in source:
            values["data_dir"] = Path(source["LINGKAR_DATA_DIR"])
        if "LINGKAR_TLS_CERT" in source:
            values["tls_cert"] = Path(source["LINGKAR_TLS_CERT"])
        if "LINGKAR_TLS_KEY" in source:
            values["tls_key"] = Path(source["LINGKAR_TLS_KEY"])
        if "LINGKAR_INSECURE_HTTP" in source:
            values["insecure_http"] = _parse_bool(
                "LINGKAR_INSECURE_HTTP", source["LINGKAR_INSECURE_HTTP"]
            )
        if "LINGKAR_DATABASE_URL" in source:
            values["database_url"] = source["LINGKAR_DATABASE_URL"]
        if "LINGKAR_SECRET_KEY" in source:
            values["secret_key"] = source["LINGKAR_SECRET_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a whole number") from None


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name}: {raw!r} is not true or false")


def _parse_database_url(raw: str) -> URL:
    # The message never repeats the URL: it may hold a database password.
    try:
        url = make_url(raw)
    except ArgumentError:
        raise SettingsError(
            "database_url: not a database URL (sqlite:///... or postgresql://...)"
        ) from None
    backend = url.get_backend_name()
    driver = ASYNC_DRIVERS.get(backend)
    if driver is None:
        raise SettingsError(f"database_url: {backend!r} is not supported (sqlite or postgresql)")
    if url.drivername not in {backend, f"{backend}+{driver}"}:
        raise SettingsError(f"database_url: use the driver {backend}+{driver} (or just {backend})")
    # An in-memory SQLite database would be a different, empty one on every connection.
    if backend == "sqlite" and url.database in {None, "", ":memory:"}:
        raise SettingsError("database_url: an SQLite URL needs a file path (sqlite:///path)")
    return url.set(drivername=f"{backend}+{driver}")


def _parse_secret_key(raw: str) -> bytes:
    try:
        key = bytes.fromhex(raw.strip())
    except ValueError:
        key = b""
    if len(key) != SECRET_KEY_BYTES:
        raise SettingsError(f"secret_key: give {SECRET_KEY_BYTES * 2} hex digits (32 bytes)")
    return key
