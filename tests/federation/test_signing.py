"""Ed25519 request and answer signatures: what verifies, and what each kind of tampering is refused as."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from access.node_key import NODE_KEY_FILE, key_id, load_or_create_node_key
from federation.signing import (H_NONCE, NodeIdentity, SignatureRefused, load_identity, parse_public_key,
                                read_request_headers, sign_request, sign_response, verify_request, verify_response)

PATH = "/v1/federation/check"


def identity(node: str = "node-a") -> NodeIdentity:
    return NodeIdentity(node, Ed25519PrivateKey.generate())


def verify(me: NodeIdentity, headers: dict[str, str], body: bytes, *, path: str = PATH, now: float | None = None) -> None:
    verify_request(read_request_headers(headers), me.private_key.public_key(), me.key_id, "POST", path, body,
                   skew_seconds=60, now=now)


def test_a_signed_request_verifies() -> None:
    me = identity()
    verify(me, sign_request(me, "POST", PATH, b'{"keys":[]}'), b'{"keys":[]}')


@pytest.mark.parametrize(("change", "code"), [
    ("body", "BAD_SIGNATURE"), ("path", "BAD_SIGNATURE"), ("nonce", "BAD_SIGNATURE"), ("clock", "STALE_TIMESTAMP"),
])
def test_any_change_to_a_signed_request_is_refused(change: str, code: str) -> None:
    me = identity()
    body = b'{"keys":[]}'
    headers = sign_request(me, "POST", PATH, body)
    kwargs: dict = {}
    if change == "body":
        body = b'{"keys":["x"]}'
    elif change == "path":
        kwargs["path"] = "/v1/federation/other"
    elif change == "nonce":
        headers[H_NONCE] = "f" * 32
    elif change == "clock":
        kwargs["now"] = time.time() + 120
    with pytest.raises(SignatureRefused) as refused:
        verify(me, headers, body, **kwargs)
    assert refused.value.code == code


def test_a_request_signed_by_another_key_is_a_key_mismatch() -> None:
    me, impostor = identity(), identity()
    with pytest.raises(SignatureRefused) as refused:
        verify(me, sign_request(impostor, "POST", PATH, b""), b"")
    assert refused.value.code == "KEY_MISMATCH" and me.key_id in refused.value.message


def test_missing_headers_are_named() -> None:
    with pytest.raises(SignatureRefused) as refused:
        read_request_headers({"x-fenghuo-node": "node-a"})
    assert refused.value.code == "UNSIGNED" and "x-fenghuo-signature" in refused.value.message


def test_an_answer_verifies_only_for_its_own_request_nonce() -> None:
    peer = identity("node-b")
    headers = sign_response(peer, 200, "a" * 32, b"{}")
    verify_response(peer.private_key.public_key(), "node-b", 200, "a" * 32, b"{}", headers)
    with pytest.raises(SignatureRefused) as refused:
        verify_response(peer.private_key.public_key(), "node-b", 200, "b" * 32, b"{}", headers)
    assert refused.value.code == "BAD_ANSWER_SIGNATURE"


def test_the_node_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_or_create_node_key(tmp_path)
    again = load_or_create_node_key(tmp_path)
    assert key_id(first) == key_id(again) and len(key_id(first)) == 16
    assert stat.S_IMODE(os.stat(tmp_path / NODE_KEY_FILE).st_mode) == 0o600


def test_the_node_id_defaults_to_the_key_id(tmp_path: Path) -> None:
    me = load_identity(tmp_path, None, None)
    assert me.node_id == f"node-{me.key_id}"
    assert load_identity(tmp_path, "hub-1", "11" * 32).node_id == "hub-1"


@pytest.mark.parametrize("text", ["not a key", "AAAA", "ab" * 31])
def test_a_malformed_public_key_is_refused_with_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="Ed25519|32 bytes"):
        parse_public_key(text)
