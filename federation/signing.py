"""Signed node-to-node messages: Ed25519 over method, path, caller, key id, timestamp, nonce and body digest.

A request is signed by the calling node; the answer is signed by the answering node over the request's nonce,
so a peer's answer cannot be replayed to another request or altered on the way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from access.node_key import key_id, load_or_create_node_key, raw_public_key

PROTOCOL = "fenghuo-federation/1"
H_NODE, H_KEY_ID, H_TIMESTAMP, H_NONCE, H_SIGNATURE = (
    "x-fenghuo-node", "x-fenghuo-key-id", "x-fenghuo-timestamp", "x-fenghuo-nonce", "x-fenghuo-signature")
REQUEST_HEADERS = (H_NODE, H_KEY_ID, H_TIMESTAMP, H_NONCE, H_SIGNATURE)


class SignatureRefused(Exception):
    """A signed message that must not be trusted; `code` is stable, `message` says what to fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NodeIdentity:
    """This node: its id and its signing key."""

    node_id: str
    private_key: Ed25519PrivateKey = field(repr=False)

    @property
    def key_id(self) -> str:
        return key_id(self.private_key)

    @property
    def public_key(self) -> str:
        """The raw public key, base64: what an operator registers on the other node."""
        return base64.b64encode(raw_public_key(self.private_key)).decode()


def load_identity(data_dir: Path, node_id: str | None, configured_key: str | None) -> NodeIdentity:
    """The configured key (PEM, or a 32-byte seed as hex) or the one generated into data_dir."""
    if configured_key:
        private = _parse_private_key(configured_key)
    else:
        private = load_or_create_node_key(data_dir)
    return NodeIdentity(node_id or f"node-{key_id(private)}", private)


def _parse_private_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("FENGHUO_NODE_KEY holds a PEM key that is not Ed25519")
        return key
    try:
        seed = bytes.fromhex(text)
    except ValueError:
        raise ValueError("FENGHUO_NODE_KEY is neither a PEM Ed25519 key nor 64 hex characters") from None
    if len(seed) != 32:
        raise ValueError(f"FENGHUO_NODE_KEY as hex must be 32 bytes (64 hex characters), got {len(seed)} bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A peer's raw Ed25519 public key given as base64 (what `fenghuo peers identity` prints) or 64 hex."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("the public key must be the peer's raw Ed25519 public key as base64 (44 characters) or hex") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes; this one decodes to {len(raw)} bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_message(method: str, path: str, node_id: str, kid: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join((PROTOCOL, method.upper(), path, node_id, kid, timestamp, nonce, digest(body))).encode()


def response_message(status: int, node_id: str, request_nonce: str, body: bytes) -> bytes:
    return "\n".join((PROTOCOL + " answer", str(status), node_id, request_nonce, digest(body))).encode()


def sign_request(identity: NodeIdentity, method: str, path: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    message = request_message(method, path, identity.node_id, identity.key_id, timestamp, nonce, body)
    return {
        H_NODE: identity.node_id, H_KEY_ID: identity.key_id, H_TIMESTAMP: timestamp, H_NONCE: nonce,
        H_SIGNATURE: base64.b64encode(identity.private_key.sign(message)).decode(),
    }


def sign_response(identity: NodeIdentity, status: int, request_nonce: str, body: bytes) -> dict[str, str]:
    signature = identity.private_key.sign(response_message(status, identity.node_id, request_nonce, body))
    return {H_NODE: identity.node_id, H_SIGNATURE: base64.b64encode(signature).decode()}


@dataclass(frozen=True)
class SignedRequest:
    node_id: str
    key_id: str
    timestamp: int
    nonce: str
    signature: bytes


def read_request_headers(headers: dict[str, str]) -> SignedRequest:
    missing = [name for name in REQUEST_HEADERS if not headers.get(name)]
    if missing:
        raise SignatureRefused("UNSIGNED", f"federation requests must be signed; missing headers: {', '.join(missing)}")
    try:
        timestamp = int(headers[H_TIMESTAMP])
        signature = base64.b64decode(headers[H_SIGNATURE], validate=True)
    except (ValueError, binascii.Error):
        raise SignatureRefused("BAD_SIGNATURE", f"{H_TIMESTAMP} must be Unix seconds and {H_SIGNATURE} base64") from None
    nonce = headers[H_NONCE]
    if not 16 <= len(nonce) <= 64 or not nonce.isalnum():
        raise SignatureRefused("BAD_SIGNATURE", f"{H_NONCE} must be 16–64 letters or digits")
    return SignedRequest(headers[H_NODE][:128], headers[H_KEY_ID][:64], timestamp, nonce, signature)


def verify_request(
    signed: SignedRequest, public_key: Ed25519PublicKey, registered_key_id: str, method: str, path: str, body: bytes,
    *, skew_seconds: float, now: float | None = None,
) -> None:
    """Raises SignatureRefused unless the request is signed by the registered key within the clock window."""
    if signed.key_id != registered_key_id:
        raise SignatureRefused(
            "KEY_MISMATCH", f"node {signed.node_id} signed with key id {signed.key_id}, but this node has key id "
            f"{registered_key_id} registered for it; re-register its current public key")
    skew = (now if now is not None else time.time()) - signed.timestamp
    if abs(skew) > skew_seconds:
        raise SignatureRefused(
            "STALE_TIMESTAMP", f"the request's timestamp is {skew:+.0f}s from this node's clock (window ±{skew_seconds:.0f}s); "
            "check both nodes' clocks (NTP)")
    message = request_message(method, path, signed.node_id, signed.key_id, str(signed.timestamp), signed.nonce, body)
    try:
        public_key.verify(signed.signature, message)
    except InvalidSignature:
        raise SignatureRefused("BAD_SIGNATURE", "the signature does not match the request (altered body, path or headers, "
                                                "or a different key)") from None


def verify_response(public_key: Ed25519PublicKey, node_id: str, status: int, request_nonce: str, body: bytes,
                    headers: dict[str, str]) -> None:
    if headers.get(H_NODE) != node_id:
        raise SignatureRefused("WRONG_NODE", f"the answer names node {headers.get(H_NODE)!r}, not {node_id!r}")
    try:
        signature = base64.b64decode(headers.get(H_SIGNATURE) or "", validate=True)
        public_key.verify(signature, response_message(status, node_id, request_nonce, body))
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureRefused("BAD_ANSWER_SIGNATURE", "the answer's signature does not verify with the registered "
                                                        "public key (altered on the way, or the peer's key changed)") from None
