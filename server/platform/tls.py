"""TLS for the embedded default: a self-signed certificate made once with ``cryptography``.

Browsers grant camera and microphone only to secure origins; on a school LAN without a domain a
self-signed certificate (accepted once per device) is what makes https://192.168.x.y:8443 work.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Browsers cap accepted certificate lifetimes; 825 days is the longest Apple platforms accept.
CERT_LIFETIME_DAYS = 825


@dataclass(frozen=True)
class CertificateFiles:
    cert: Path
    key: Path
    created: bool


def ensure_self_signed(directory: Path, ip_addresses: list[str]) -> CertificateFiles:
    """Return the certificate in ``directory``, generating it on first use."""
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    if cert_path.exists() and key_path.exists():
        return CertificateFiles(cert_path, key_path, created=False)
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    hostname = socket.gethostname()
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    if hostname and hostname != "localhost":
        names.append(x509.DNSName(hostname))
    for ip in ["127.0.0.1", "::1", *ip_addresses]:
        names.append(x509.IPAddress(ipaddress.ip_address(ip)))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lingkar (self-signed)"),
            x509.NameAttribute(NameOID.COMMON_NAME, hostname or "localhost"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_LIFETIME_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key is written readable by the owner only, before any byte of it is on disk.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertificateFiles(cert_path, key_path, created=True)


def fingerprint_sha256(cert_path: Path) -> str:
    """The certificate's SHA-256 fingerprint as browsers show it (AA:BB:...)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context
