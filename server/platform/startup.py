"""What every way of starting ``lingkar serve`` shares (one process, or a supervisor with its
session workers): the TLS context, the start-up banner, the port the system chose. Light: no
application, no media."""

from __future__ import annotations

import asyncio
import shlex
import ssl
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from server.platform import allocator
from server.platform.settings import DEFAULT_DATA_DIR, Settings, SettingsError
from server.platform.tls import ensure_self_signed, fingerprint_sha256, server_context


def tls_context(
    settings: Settings, lan_ips: list[str]
) -> tuple[ssl.SSLContext | None, Path | None, bool]:
    """The TLS context, its certificate, and whether a self-signed one was just made; none
    with ``insecure_http`` (a TLS-terminating proxy in front)."""
    if settings.insecure_http:
        return None, None, False
    if settings.tls_cert is not None and settings.tls_key is not None:
        for name, path in (("tls_cert", settings.tls_cert), ("tls_key", settings.tls_key)):
            if not path.is_file():
                raise SettingsError(f"{name}: {path} is not a readable file")
        try:
            return server_context(settings.tls_cert, settings.tls_key), settings.tls_cert, False
        except (ssl.SSLError, ValueError) as exc:
            raise SettingsError(f"tls_cert/tls_key: cannot load them: {exc}") from None
    files = ensure_self_signed(settings.data_dir / "tls", lan_ips)
    return server_context(files.cert, files.key), files.cert, files.created


def banner(
    settings: Settings,
    port: int,
    lan_ips: list[str],
    cert: Path | None,
    new: bool,
    *,
    has_counselors: bool = True,
    notes: Sequence[str] = (),
) -> str:
    scheme = "http" if settings.insecure_http else "https"
    if settings.host in {"127.0.0.1", "localhost", "::1"}:
        hosts = ["localhost"]
    elif settings.host in {"0.0.0.0", "::", ""}:
        hosts = [*lan_ips, "localhost"]
    else:
        hosts = [settings.host]
    lines = ["", "Lingkar is running. Open one of these addresses in a browser:"]
    lines += [f"    {scheme}://{host}:{port}/" for host in hosts]
    if cert is not None and settings.tls_cert is None:
        lines += [
            "",
            f"The TLS certificate is self-signed ({'made now' if new else 'kept'}: {cert}).",
            "Browsers warn once per device; check the fingerprint before you accept it:",
            f"    SHA-256 {fingerprint_sha256(cert)}",
        ]
    if not has_counselors:
        default_dir = settings.data_dir == DEFAULT_DATA_DIR
        data_dir = "" if default_dir else f" --data-dir {shlex.quote(str(settings.data_dir))}"
        lines += [
            "",
            "No counselor account exists yet. Make the first one (it asks for a password) with:",
            f"    .venv/bin/lingkar counselor add NAME{data_dir}",
        ]
    lines += ["", f"Data directory: {settings.data_dir.resolve()}", allocator.describe()]
    lines += [*notes, "Stop with Ctrl+C.", ""]
    return "\n".join(lines)


def bound_port(site: web.TCPSite, asked: int) -> int:
    """The real port: with --port 0 the system chose one."""
    server = site._server
    if asked != 0 or not isinstance(server, asyncio.Server):
        return asked
    port: int = server.sockets[0].getsockname()[1]
    return port
