"""Pseudonymization: indicators are keyed by HMAC-SHA256 under the alliance key, shown only masked.

Keyed hashes are still personal information (PIPL Art. 73): nothing here logs or prints a secret
or a raw value, and `AllianceKey`'s repr hides the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

from core.errors import BadInput

from .identifiers import Invalid, normalize
from .identifiers.phone import mainland_mobile_digits
from .identifiers.result import IdentifierType, Normalized

MIN_SECRET_BYTES = 32
KEY_FILE_NAME = "alliance.key"


@dataclass(frozen=True)
class AllianceKey:
    """The pseudonymization key every node of one alliance shares; `version` travels with every token."""

    version: int
    secret: bytes = field(repr=False)


def pseudonymize(key: AllianceKey, n: Normalized) -> str:
    return hmac.new(key.secret, n.value.encode("utf-8"), hashlib.sha256).hexdigest()


def indicator_key(key: AllianceKey, n: Normalized) -> str:
    """The shared graph's key for an indicator: two inputs match only within one type."""
    return f"{n.type.value}:{pseudonymize(key, n)}"


@dataclass(frozen=True)
class Identified:
    """A raw value after the identifier rules: its normalized form (in memory only) and its indicator key."""

    normalized: Normalized
    key: str


def identify(key: AllianceKey, type: str, value: str) -> Identified | Invalid:
    """Normalize → key: the one way a raw value becomes something the graph can be asked about."""
    result = normalize(type, value)
    if isinstance(result, Invalid):
        return result
    return Identified(result, indicator_key(key, result))


def require_identified(key: AllianceKey, type: str, value: str, *, field: str = "value", what: str | None = None) -> Identified:
    """`identify`, or a BadInput naming the field and why the value was refused (never the value itself)."""
    result = identify(key, type, value)
    if isinstance(result, Invalid):
        raise BadInput(f"{what}: {result.reason}" if what else result.reason, field=field)
    return result


def key_from_config(secret: str, version: int) -> AllianceKey:
    """Decode a configured secret given as hex or base64 (standard or URL-safe); at least 32 bytes."""
    text = secret.strip()
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text):
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the alliance key secret is neither hex nor base64; give 64 hex characters") from None
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the alliance key secret decodes to {len(raw)} bytes; at least {MIN_SECRET_BYTES} random bytes are "
            "required (e.g. the output of `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return AllianceKey(version, raw)


def load_or_create_dev_key(data_dir: Path) -> tuple[AllianceKey, bool]:
    """Read `data_dir/alliance.key`, or create it (32 random bytes, mode 0600). Returns (key, created)."""
    path = Path(data_dir) / KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        content = json.dumps({"version": 1, "secret_hex": secrets.token_hex(MIN_SECRET_BYTES)})
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return _read_key_file(path), False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        return _read_key_file(path), True
    return _read_key_file(path), False


def _read_key_file(path: Path) -> AllianceKey:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return key_from_config(str(data["secret_hex"]), int(data["version"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"the alliance key file {path} is unreadable or malformed: {type(exc).__name__}") from None


def mask(n: Normalized) -> str:
    """A display form an analyst can recognise but not recover the value from."""
    value = n.value
    match n.type:
        case IdentifierType.PHONE:
            return _mask_phone(value)
        case IdentifierType.ID_NUMBER:
            return value[:6] + "*" * 8 + value[-4:]
        case IdentifierType.BANK_CARD:
            return value[:6] + "*" * max(len(value) - 10, 1) + value[-4:]
        case IdentifierType.IMEI:
            return value[:8] + "*" * 6
        case IdentifierType.AD_ID:
            return value[:8] + "-****"
        case IdentifierType.EMAIL:
            return _mask_email(value)
        case IdentifierType.IP:
            return _mask_ip(value)
        case IdentifierType.URL:
            return _mask_url(value)
        case IdentifierType.DOMAIN:
            return value  # hosts of scam sites are not personal
        case IdentifierType.DEVICE_FINGERPRINT:
            vendor, _, body = value.partition(":")
            return f"{vendor}:{_mask_middle(body)}"
        case IdentifierType.WECHAT | IdentifierType.ALIPAY:
            if value.startswith("+"):
                return _mask_phone(value)
            return _mask_email(value) if "@" in value else _mask_middle(value)
    return _mask_middle(value)


def _mask_middle(value: str) -> str:
    return value[:2] + "****" + value[-2:] if len(value) >= 8 else "*" * len(value)


def _mask_phone(value: str) -> str:
    national = mainland_mobile_digits(value)
    if national:  # what the parse below gives for a mainland mobile, without parsing
        return national[:3] + "****" + national[-4:]
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return _mask_middle(value)
    nsn = phonenumbers.national_significant_number(number)
    shown = nsn[:3] + "****" + nsn[-4:] if len(nsn) >= 10 else nsn[:2] + "*" * max(len(nsn) - 4, 2) + nsn[-2:]
    return shown if number.country_code == 86 else f"+{number.country_code} {shown}"


def _mask_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    return f"{local[:1]}***@{domain}"


def _mask_ip(value: str) -> str:
    if ":" in value:
        groups = [group.lstrip("0") or "0" for group in ipaddress.IPv6Address(value).exploded.split(":")[:2]]
        return ":".join(groups) + ":*:*:*:*:*:*"
    first, second = value.split(".")[:2]
    return f"{first}.{second}.*.*"


def _mask_url(value: str) -> str:
    scheme, _, rest = value.partition("://")
    host, slash, tail = rest.partition("/")
    return f"{scheme}://{host}/" + ("****" if tail else "")
