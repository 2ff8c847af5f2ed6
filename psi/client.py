"""The member's side of a private check, importable by a risk engine: which of my identifiers does the alliance
know, without telling the hub the ones it does not?

    from ingest.pseudonym import key_from_config
    from psi.client import PrivateChecker

    checker = PrivateChecker("https://hub.example", api_key, key_from_config(secret_hex, 1))
    result = checker.check([("phone", "13800138000"), ("id_number", "110101199003074578")])
    result.matched          # the (type, value) pairs the alliance holds an active listing for
    result.setup_age_seconds

Identifiers are normalized and keyed locally (the client holds the alliance key, as nodes do), blinded with a
fresh secret per check, and intersected locally with the hub's setup segments (cached by ETag). To learn the
verdicts of the matches, send only those to a normal check (`checkLeads`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import httpx
import private_set_intersection.python as psi

from ingest.identifiers import Invalid
from ingest.pseudonym import AllianceKey, identify

SETUP_PATH, CHECK_PATH = "/v1/psi/setup", "/v1/psi/check"
H_KEY_ID, H_SETUP_AGE = "x-fenghuo-psi-key-id", "x-fenghuo-setup-age"
SETUP_ATTEMPTS = 3  # manifest reads per check when a refresh removes a segment in between


class PrivateCheckFailed(Exception):
    """The hub refused or could not answer; the message says why (never an identifier)."""


@dataclass
class PrivateCheckResult:
    asked: int  # identifiers sent (blinded) to the hub
    matched: list[tuple[str, str]]  # (type, value) of the inputs that match
    invalid: list[tuple[str, str, str]]  # (type, value, reason): refused locally, never sent
    setup_age_seconds: float | None
    segments: int
    bytes_sent: int
    bytes_received: int
    client_seconds: float  # blinding and intersecting, here
    hub_seconds: float  # the hub's answer to the request, as seen from here (network included)


@dataclass
class SetupCache:
    """Segments by id, with their ETags: a risk engine keeps one and re-fetches only changed segments."""

    key_id: str | None = None
    segments: dict[str, tuple[str, psi.ServerSetup]] = field(default_factory=dict)


class PrivateChecker:
    def __init__(self, url: str, api_key: str, alliance_key: AllianceKey, *, purpose: str | None = None,
                 timeout: float = 60.0, cache: SetupCache | None = None) -> None:
        self.alliance_key = alliance_key
        self.cache = cache or SetupCache()
        headers = {"authorization": f"Bearer {api_key}"}
        if purpose:
            headers["x-fenghuo-purpose"] = purpose
        self.http = httpx.Client(base_url=url, headers=headers, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "PrivateChecker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self, identifiers: Sequence[tuple[str, str]]) -> PrivateCheckResult:
        keyed, invalid = self._keys(identifiers)
        sent = 0
        manifest, received = self._setup()
        started = time.perf_counter()
        client = psi.client.CreateWithNewKey(True)
        unique = sorted(set(keyed))
        request = client.CreateRequest(unique).SerializeToString() if unique else b""
        client_seconds = time.perf_counter() - started
        matched_keys: set[str] = set()
        hub_seconds, age = 0.0, manifest["age_seconds"]
        if unique:
            asked_at = time.perf_counter()
            response = self.http.post(CHECK_PATH, content=request, headers={"content-type": "application/octet-stream"})
            hub_seconds = time.perf_counter() - asked_at
            _raise_for(response)
            if response.headers.get(H_KEY_ID) != manifest["key_id"]:  # the hub restarted between the two calls
                raise PrivateCheckFailed("the hub's private-check key changed during the check; run it again")
            sent, received = sent + len(request), received + len(response.content)
            age = float(response.headers.get(H_SETUP_AGE, age or 0.0))
            started = time.perf_counter()
            answer = psi.Response()
            answer.ParseFromString(response.content)
            for segment_id in (s["id"] for s in manifest["segments"]):
                for index in client.GetIntersection(self.cache.segments[segment_id][1], answer):
                    matched_keys.add(unique[index])
            client_seconds += time.perf_counter() - started
        return PrivateCheckResult(
            asked=len(unique), matched=[pair for key, pairs in keyed.items() if key in matched_keys for pair in pairs],
            invalid=invalid,
            setup_age_seconds=age, segments=len(manifest["segments"]), bytes_sent=sent, bytes_received=received,
            client_seconds=round(client_seconds, 4), hub_seconds=round(hub_seconds, 4))

    def _keys(self, identifiers: Sequence[tuple[str, str]]) -> tuple[dict[str, list[tuple[str, str]]], list]:
        return key_identifiers(self.alliance_key, identifiers)

    def _setup(self) -> tuple[dict, int]:
        """The hub's manifest with its segments cached, and the bytes read. A refresh between the manifest and a
        segment removes that segment (404): the manifest is read again, up to SETUP_ATTEMPTS times."""
        received = 0
        for _ in range(SETUP_ATTEMPTS):
            manifest, size = self._manifest()
            received += size
            try:
                return manifest, received + self._fetch_segments(manifest)
            except _SetupChanged:
                continue
        raise PrivateCheckFailed(f"the hub's setup changed {SETUP_ATTEMPTS} times while it was read; run the check again")

    def _manifest(self) -> tuple[dict, int]:
        response = self.http.get(SETUP_PATH)
        _raise_for(response)
        manifest = response.json()
        if manifest["key_id"] != self.cache.key_id:
            self.cache.key_id, self.cache.segments = manifest["key_id"], {}
        return manifest, len(response.content)

    def _fetch_segments(self, manifest: dict) -> int:
        """Fetch the segments not cached (or changed); drop those the hub no longer serves. Returns bytes read."""
        received = 0
        wanted = {s["id"]: s["etag"] for s in manifest["segments"]}
        for segment_id in list(self.cache.segments):
            if segment_id not in wanted:
                del self.cache.segments[segment_id]
        for segment_id, etag in wanted.items():
            cached = self.cache.segments.get(segment_id)
            if cached and cached[0] == etag:
                continue  # segments never change under one id: the manifest's ETag is enough
            headers = {"if-none-match": cached[0]} if cached else {}
            response = self.http.get(f"{SETUP_PATH}/{segment_id}", headers=headers)
            if response.status_code == 304 and cached:
                continue
            if response.status_code == 404:
                raise _SetupChanged(segment_id)
            _raise_for(response)
            setup = psi.ServerSetup()
            setup.ParseFromString(response.content)
            self.cache.segments[segment_id] = (response.headers.get("etag", etag), setup)
            received += len(response.content)
        return received


def key_identifiers(alliance_key: AllianceKey, identifiers: Sequence[tuple[str, str]]
                    ) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str, str, str]]]:
    """Indicator keys (each with the inputs it came from), and the inputs refused locally with the reason."""
    keyed: dict[str, list[tuple[str, str]]] = {}
    invalid = []
    for type, value in identifiers:
        result = identify(alliance_key, type, value)
        if isinstance(result, Invalid):
            invalid.append((type, value, result.reason))
        else:
            keyed.setdefault(result.key, []).append((type, value))
    return keyed, invalid


class _SetupChanged(Exception):
    """A segment of the manifest just read is gone: the hub refreshed its setup in between."""


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        message = "; ".join(e["message"] for e in response.json()["errors"])
    except (ValueError, KeyError, TypeError):
        message = response.reason_phrase
    raise PrivateCheckFailed(f"the hub answered HTTP {response.status_code}: {message}")
