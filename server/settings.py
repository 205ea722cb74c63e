"""Server settings: embedded defaults, overridden by environment variables.

Every setting has a default that lets ``lingkar serve`` start on one machine with nothing
configured: an SQLite file and a self-signed certificate in the data directory, https on 8443.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 8443
DEFAULT_DATA_DIR = Path("data")


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

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port: {self.port} is not a TCP port (0-65535)")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("tls_cert and tls_key: give both, or neither to generate one")

    @property
    def database_path(self) -> Path:
        return self.data_dir / "lingkar.sqlite3"

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
