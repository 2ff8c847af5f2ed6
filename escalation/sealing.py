"""Raw identifiers and evidence of an escalation, sealed at rest with AES-256-GCM.

Only the case's jurisdiction liaisons get them opened (escalation/service.py decides); the associated data
binds each sealed value to the record it belongs to, so a value copied onto another case does not open.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from access.node_key import decode_key_bytes
from core.settings import Settings

SEALING_KEY_FILE = "escalation_sealing.key"
NONCE_BYTES = 12


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, bound_to: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode())
        except InvalidTag:
            raise ValueError(f"sealed value of {bound_to} does not open with this node's sealing key") from None


def load_sealer(settings: Settings) -> Sealer:
    if settings.escalation_sealing_key is not None:
        return Sealer(decode_key_bytes(settings.escalation_sealing_key.get_secret_value(), 32,
                                       "FENGHUO_ESCALATION_SEALING_KEY"))
    path = Path(settings.data_dir) / SEALING_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(AESGCM.generate_key(bit_length=256).hex())
    return Sealer(decode_key_bytes(path.read_text(encoding="ascii"), 32, str(path)))
