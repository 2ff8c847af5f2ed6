"""Logging setup. Raw identifiers, keys and tokens are never logged by design; this filter is a backstop
that redacts bearer tokens and Fenghuo API keys should one ever reach a message."""

from __future__ import annotations

import logging
import re

_SECRETS = re.compile(r"(Bearer\s+)\S+|\bfh_[A-Za-z0-9]{4,}_[A-Za-z0-9_\-]{8,}", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRETS.sub(lambda m: (m.group(1) or "") + "[REDACTED]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("neo4j").setLevel(logging.WARNING)
