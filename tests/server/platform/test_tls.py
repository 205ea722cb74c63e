from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from server.platform.tls import ensure_self_signed, fingerprint_sha256, server_context


def test_self_signed_certificate_is_made_once_and_names_the_lan_address(tmp_path: Path) -> None:
    first = ensure_self_signed(tmp_path, ["192.0.2.7"])
    assert first.created
    assert stat.S_IMODE(first.key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(first.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("192.0.2.7") in san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    second = ensure_self_signed(tmp_path, ["192.0.2.7"])
    assert not second.created
    assert fingerprint_sha256(second.cert) == fingerprint_sha256(first.cert)
    server_context(second.cert, second.key)  # loads as a server certificate
