"""The node's Ed25519 signing key: signs case packages (and federation requests); its public key is published.

Deployments set FENGHUO_NODE_KEY (the raw 32-byte private key, hex or base64); the embedded default keeps it in
`data_dir/node_ed25519.key` (mode 0600), created on first use. The key id is the first 16 hex digits of the
SHA-256 of the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

NODE_KEY_FILE = "node_ed25519.key"


def load_or_create_node_key(data_dir: Path, configured: str | None = None) -> Ed25519PrivateKey:
    if configured:
        return Ed25519PrivateKey.from_private_bytes(decode_key_bytes(configured, 32, "FENGHUO_NODE_KEY"))
    path = Path(data_dir) / NODE_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(raw.hex())
    return Ed25519PrivateKey.from_private_bytes(decode_key_bytes(path.read_text(encoding="ascii"), 32, str(path)))


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def public_key_document(key: Ed25519PrivateKey) -> dict[str, str]:
    """What the well-known URL serves: enough to verify a signature offline."""
    return {"alg": "Ed25519", "key_id": key_id(key), "public_key": base64.b64encode(public_bytes(key)).decode()}


def decode_key_bytes(text: str, length: int, where: str) -> bytes:
    """Key material given as hex or base64; exactly `length` bytes."""
    value = text.strip()
    try:
        raw = bytes.fromhex(value) if len(value) == 2 * length else base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError(f"the key in {where} is neither hex nor base64") from None
    if len(raw) != length:
        raise ValueError(f"the key in {where} must be {length} bytes, not {len(raw)}")
    return raw


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key (what peers register and verify with)."""
    return public_bytes(key)
