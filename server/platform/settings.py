"""Server settings: embedded defaults, then a TOML file, then ``LINGKAR_*`` variables, then flags.

Every setting has a default that lets ``lingkar serve`` start on one machine with nothing
configured: an SQLite file and a self-signed certificate in the data directory, https on 8443.
Reading the file and the variables lives in :mod:`server.platform.config_file`; this module
holds the values and checks what each one means.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 8443
DEFAULT_DATA_DIR = Path("data")
# The database back-ends the same code is tested on; each maps to its asyncio driver.
ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "psycopg"}
SECRET_KEY_BYTES = 32
NOTES_KEY_BYTES = 32
DEFAULT_RETENTION_DAYS = 30
DEFAULT_ABANDONED_MINUTES = 30
MAX_ABANDONED_MINUTES = 24 * 60
# Media (ICE) sockets bind here, so a firewall opens one known range. Apart from coturn's own
# relay range (49152-65535 by default, deploy/turnserver.conf narrows it to 49152-49999).
DEFAULT_MEDIA_PORTS = (40000, 40999)
# More session workers than this is a mistake on any machine a school has.
MAX_WORKERS = 64
# /metrics answers only these clients unless configured otherwise: the machine itself.
DEFAULT_METRICS_ALLOW = ("127.0.0.0/8", "::1/128")


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
    # The address people open (https://bk.sekolah.sch.id/), when a proxy or a name fronts us.
    public_url: str | None = None
    # STUN/TURN URLs given to browsers (and STUN ones to the server's own side), e.g.
    # "turn:turn.sekolah.sch.id:3478?transport=udp". Empty: host candidates only.
    ice_servers: tuple[str, ...] = ()
    # coturn's static-auth-secret: time-limited TURN credentials are minted from it.
    turn_secret: str | None = None
    # The UDP ports the server's media sockets bind to (first, last), both included.
    media_ports: tuple[int, int] = DEFAULT_MEDIA_PORTS
    # None: a random key made once in data_dir/notes.key. Otherwise 32 bytes in base64: the key
    # that encrypts counselors' notes at rest.
    notes_key: str | None = None
    # Ended sessions (and their notes) older than this many days are deleted.
    retention_days: int = DEFAULT_RETENTION_DAYS
    # An open session with nobody in it (no counselor, no admitted member) for this many minutes
    # is ended by itself, and its counselor told on the dashboard.
    abandoned_minutes: int = DEFAULT_ABANDONED_MINUTES
    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto headers are believed.
    trusted_proxies: tuple[str, ...] = ()
    # Clients (addresses or CIDRs) allowed to read /metrics.
    metrics_allow: tuple[str, ...] = DEFAULT_METRICS_ALLOW
    # Session worker processes (server/workers/). None: one per core; 1: a single process.
    workers: int | None = None
    # A cluster of nodes (server/workers/cluster.py): the Redis that holds the session directory
    # and the live sessions' snapshots, and this node's own address, as the other nodes reach it.
    redis_url: str | None = None
    node_url: str | None = None
    # PEM certificates the nodes' calls to each other trust besides the system's (self-signed
    # node certificates); None: the system's only.
    cluster_ca: Path | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port: {self.port} is not a TCP port (0-65535)")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("tls_cert and tls_key: give both, or neither to generate one")
        if self.database_url is not None:
            _parse_database_url(self.database_url)
        if self.secret_key is not None:
            _parse_secret_key(self.secret_key)
        if self.public_url is not None:
            _check_public_url(self.public_url)
        for url in self.ice_servers:
            _check_ice_url(url)
        if self.turn_secret is not None and not self.turn_secret.strip():
            raise SettingsError("turn_secret: empty; give coturn's static-auth-secret")
        if self.turn_secret is None and any(_is_turn(url) for url in self.ice_servers):
            raise SettingsError(
                "turn_secret: a turn: URL in ice_servers needs coturn's static-auth-secret"
            )
        low, high = self.media_ports
        if not 1024 <= low <= high <= 65535:
            raise SettingsError(
                f"media_ports: {low}-{high} is not a range of unprivileged UDP ports "
                "(1024-65535, first <= last)"
            )
        if self.notes_key is not None:
            parse_notes_key(self.notes_key)
        if self.retention_days < 1:
            raise SettingsError(f"retention_days: {self.retention_days} is less than 1")
        if not 1 <= self.abandoned_minutes <= MAX_ABANDONED_MINUTES:
            raise SettingsError(
                f"abandoned_minutes: {self.abandoned_minutes} is not between 1 and "
                f"{MAX_ABANDONED_MINUTES} (a day)"
            )
        if self.workers is not None and not 1 <= self.workers <= MAX_WORKERS:
            raise SettingsError(f"workers: {self.workers} is not between 1 and {MAX_WORKERS}")
        if self.redis_url is not None or self.node_url is not None:
            self._check_cluster()
        for name in ("trusted_proxies", "metrics_allow"):
            for entry in getattr(self, name):
                _parse_network(name, entry)

    def _check_cluster(self) -> None:
        """A node of a cluster shares its database, keys and directory with the others."""
        if self.redis_url is None or self.node_url is None:
            raise SettingsError("redis_url and node_url: a cluster node needs both")
        if urlsplit(self.redis_url).scheme not in {"redis", "rediss", "unix"}:
            raise SettingsError("redis_url: not a Redis URL (redis://host:6379/0)")
        parts = urlsplit(self.node_url)
        if (
            parts.scheme not in {"https", "http"}
            or not parts.hostname
            or parts.path not in {"", "/"}
        ):
            raise SettingsError(
                f"node_url: {self.node_url!r} is not this node's address (https://host:port)"
            )
        if self.database_url is None or not self.database_url.startswith("postgresql"):
            raise SettingsError(
                "database_url: a cluster's nodes share one PostgreSQL database (postgresql://...)"
            )
        for name in ("secret_key", "notes_key"):
            if getattr(self, name) is None:
                raise SettingsError(f"{name}: a cluster's nodes share it; set it on every node")

    @property
    def clustered(self) -> bool:
        return self.redis_url is not None

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

    @property
    def notes_key_bytes(self) -> bytes | None:
        return None if self.notes_key is None else parse_notes_key(self.notes_key)

    @property
    def has_turn(self) -> bool:
        return any(_is_turn(url) for url in self.ice_servers)


# The application's settings (made by server/app.py's create_app from what it is given).
SETTINGS = web.AppKey("settings", Settings)


def _is_turn(url: str) -> bool:
    return url.split(":", 1)[0].lower() in {"turn", "turns"}


def _check_public_url(raw: str) -> None:
    parts = urlsplit(raw)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise SettingsError(f"public_url: {raw!r} is not an https:// address")


def _check_ice_url(raw: str) -> None:
    # RFC 7064/7065: stun:host[:port], turn:host[:port][?transport=udp|tcp]; parsed the way
    # aiortc parses them, as the server's side uses them too. Imported here: a supervisor reads
    # its settings and never loads aiortc.
    from aiortc.rtcicetransport import parse_stun_turn_uri

    try:
        parse_stun_turn_uri(raw)
    except ValueError:
        raise SettingsError(
            f"ice_servers: {raw!r} is not a STUN/TURN URL (stun:host:3478, turn:host:3478)"
        ) from None


def _parse_network(name: str, raw: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(raw.strip(), strict=False)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not an address or CIDR network") from None


def networks(entries: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [_parse_network("networks", entry) for entry in entries]


def parse_notes_key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != NOTES_KEY_BYTES:
        raise SettingsError(f"notes_key: give {NOTES_KEY_BYTES} bytes in base64 (44 characters)")
    return key


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
