"""Sealing text at rest: AES-256-GCM with the notes key from the configuration.

Counselors' notes and ratings, members' evaluation answers and the session's conclusions are
stored only sealed. The associated data binds each ciphertext to its row (table, session,
participant), so a sealed value copied onto another row does not open.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12  # GCM's standard nonce; random per seal (NIST SP 800-38D, 8.2.2)
VERSION = b"\x01"


class SealError(ValueError):
    """A sealed value that does not open with this key and row."""


def _aad(kind: str, session_id: int, participant: str | None) -> bytes:
    return f"lingkar:{kind}:{session_id}:{participant or ''}".encode()


def seal(key: bytes, kind: str, session_id: int, participant: str | None, value: Any) -> bytes:
    """JSON-encode ``value`` and seal it for one row."""
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    sealed = AESGCM(key).encrypt(nonce, plain, _aad(kind, session_id, participant))
    return VERSION + nonce + sealed


def unseal(key: bytes, kind: str, session_id: int, participant: str | None, blob: bytes) -> Any:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
        raise SealError("not a sealed value")
    nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        plain = AESGCM(key).decrypt(nonce, sealed, _aad(kind, session_id, participant))
    except InvalidTag:
        raise SealError("the sealed value does not open with this key") from None
    return json.loads(plain.decode("utf-8"))
