"""Job secrets (feed tokens, TAXII passwords) encrypted at rest, so no query, log or API answer prints them.

The key is FENGHUO_JOBS_SECRET_KEY (a Fernet key) or, on a single node, `jobs-secret.key` in the data directory,
created on first use with mode 0600. Every process that runs jobs (API, scheduler) must share it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.settings import Settings

KEY_FILE = "jobs-secret.key"


class SecretsUnreadable(RuntimeError):
    """The stored secrets were encrypted with another key."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SecretBox":
        if settings.jobs_secret_key is not None:
            return cls(settings.jobs_secret_key.get_secret_value().encode())
        path = Path(settings.data_dir) / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, secrets: dict[str, str]) -> str | None:
        """The secrets encrypted (None when there are none)."""
        clean = {name: value for name, value in secrets.items() if value}
        return self._fernet.encrypt(json.dumps(clean).encode()).decode() if clean else None

    def open(self, sealed: str | None) -> dict[str, str]:
        if not sealed:
            return {}
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise SecretsUnreadable("the job's secrets cannot be decrypted with this node's jobs secret key "
                                    "(FENGHUO_JOBS_SECRET_KEY or jobs-secret.key differ between processes); set them again")
