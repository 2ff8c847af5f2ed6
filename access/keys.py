"""API key format and hashing. A key is shown once; only a hash of its secret part is stored.

Format: `fh_<prefix>_<secret>`: the prefix (8 chars) identifies the key in lists and logs, the secret
(32 url-safe chars, 190 bits) never leaves the caller. The secret has full entropy, so one SHA-256 is
enough (no password stretching needed); comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

_ALPHABET = string.ascii_lowercase + string.digits
_KEY = re.compile(r"^fh_([a-z0-9]{8})_([A-Za-z0-9_\-]{32})$")


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret_hash: str
    token: str  # shown once to the operator, never stored


def generate_key() -> NewKey:
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    secret = secrets.token_urlsafe(24)[:32].ljust(32, "A")
    return NewKey(prefix=prefix, secret_hash=hash_secret(secret), token=f"fh_{prefix}_{secret}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    match = _KEY.match(token.strip())
    return (match[1], match[2]) if match else None


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)
