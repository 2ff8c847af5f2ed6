"""STIX 2.1 bundles: each `indicator` and `observed-data` object is one lead row.

The mapping is documented in STIX_MAPPING.md beside this file. The bundle is read twice, each time
streamed: the first pass indexes what rows refer to (TLP marking definitions, threat-actor and
intrusion-set names, relationships, observables), the second yields rows. Memory grows with those
references, not with the indicators. A non-seekable stream is spooled to a temporary file first.
Rows carry canonical field names as keys; identifier fields hold lists. Line = element index + 1.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import count
from typing import IO, Iterator

from ingest.columns import IDENTIFIER_FIELDS, LEAD_FIELDS
from ingest.formats import FormatError, SourceRow, Table
from ingest.formats.json_reader import JsonScanner

TLP_MARKINGS = {  # the standard marking-definition ids (TLP 1.0 in STIX 2.1 §7.2.1.4; TLP 2.0 by OASIS)
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR",  # TLP 1.0 WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "CLEAR",  # TLP 2.0
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "GREEN",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "AMBER",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "AMBER+STRICT",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "RED",
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37": "AMBER+STRICT",  # as OpenCTI exports it
}
_TLP_ORDER = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
_ACTOR_PREFIXES = ("threat-actor--", "intrusion-set--")
_LEAD_PREFIXES = ("indicator--", "observed-data--")
_STANDARD_SCOS = {"ipv4-addr": "ip", "ipv6-addr": "ip", "domain-name": "domain", "url": "url", "email-addr": "email"}
_ACCOUNT_TYPES = {"wechat": "wechat", "weixin": "wechat", "alipay": "alipay", "qq": "qq"}
_GENERIC_INDICATOR_TYPES = {
    "anomalous-activity", "anonymization", "benign", "compromised", "malicious-activity", "attribution", "unknown",
}  # fmt: skip
_COMPARISON = re.compile(r"([a-z0-9-]+):([a-z0-9_.]+)\s*(=|!=|<=|>=|<|>|\bIN\b|\bLIKE\b|\bMATCHES\b)", re.I)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'")
_OBSERVATION = re.compile(r"\[((?:'(?:[^'\\]|\\.)*'|[^\]'])*)\]")
_EQUALITY = re.compile(r"([a-z0-9-]+):([a-z0-9_.]+)\s*=\s*'((?:[^'\\]|\\.)*)'", re.I)
STIX_HEADERS = [*LEAD_FIELDS, *IDENTIFIER_FIELDS]


@dataclass
class _Index:
    tlp: dict[str, str] = field(default_factory=lambda: dict(TLP_MARKINGS))
    actors: dict[str, str] = field(default_factory=dict)
    actor_refs: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    observables: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)  # id → field, value, vendor


def read_rows(stream: IO[bytes]) -> Iterator[SourceRow]:
    return open_table(stream).rows


def open_table(stream: IO[bytes]) -> Table:
    source = stream if stream.seekable() else _spooled(stream)
    start = source.tell()
    index = _Index()
    for _, obj in _objects(source):
        _index_object(index, obj)
    source.seek(start)
    return Table(list(STIX_HEADERS), _rows(source, index))


def _spooled(stream: IO[bytes]) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    shutil.copyfileobj(stream, spool)
    spool.seek(0)
    return spool


def _objects(stream: IO[bytes]) -> Iterator[tuple[int, dict]]:
    """(element index + 1, object) for each element of the bundle's "objects" array."""
    scanner = JsonScanner(stream)
    scanner.expect("{")
    while scanner.peek() != "}":
        key = scanner.value()
        scanner.expect(":")
        if key == "objects":
            yield from _array(scanner)
        else:
            value = scanner.value()  # other members (id, spec_version…) are read and dropped
            if key == "type" and value != "bundle":
                raise FormatError('a STIX file must be a bundle ({"type": "bundle", "objects": [...]})', 1)
        if scanner.peek() != "}":
            scanner.expect(",")
    scanner.expect("}")


def _array(scanner: JsonScanner) -> Iterator[tuple[int, dict]]:
    scanner.expect("[")
    if scanner.peek() == "]":
        scanner.expect("]")
        return
    for line in count(2):
        obj = scanner.value()
        if not isinstance(obj, dict):
            raise FormatError("each element of a STIX bundle's objects must be an object", line)
        yield line, obj
        if scanner.peek() == "]":
            scanner.expect("]")
            return
        scanner.expect(",")


def _index_object(index: _Index, obj: dict) -> None:
    kind, ident = obj.get("type"), str(obj.get("id", ""))
    if kind == "marking-definition":
        level = _marking_level(obj)
        if level:
            index.tlp[ident] = level
    elif kind in ("threat-actor", "intrusion-set") and isinstance(obj.get("name"), str):
        index.actors[ident] = obj["name"]
    elif kind == "relationship":
        source, target = str(obj.get("source_ref", "")), str(obj.get("target_ref", ""))
        if source.startswith(_LEAD_PREFIXES) and target.startswith(_ACTOR_PREFIXES):
            index.actor_refs[source].append(target)
        elif target.startswith(_LEAD_PREFIXES) and source.startswith(_ACTOR_PREFIXES):
            index.actor_refs[target].append(source)
    else:
        observable = _observable(obj)
        if observable and ident:
            index.observables[ident] = observable


def _marking_level(obj: dict) -> str | None:
    definition = obj.get("definition") if isinstance(obj.get("definition"), dict) else {}
    candidates = [definition.get("tlp"), obj.get("name"), obj.get("definition_type")]
    extensions = obj.get("extensions")
    for extension in extensions.values() if isinstance(extensions, dict) else []:
        if isinstance(extension, dict):
            candidates.append(extension.get("tlp_2_0"))
    for text in candidates:
        if isinstance(text, str):
            level = text.upper().removeprefix("TLP:").replace("WHITE", "CLEAR")
            if level in _TLP_ORDER:
                return level
    return None


def _observable(obj: dict) -> tuple[str, str, str | None] | None:
    """(field, value, vendor) of a cyber-observable object we can read, else None."""
    kind = str(obj.get("type", ""))
    if kind in _STANDARD_SCOS and isinstance(obj.get("value"), str):
        return _STANDARD_SCOS[kind], obj["value"], None
    if kind == "user-account":
        target = _ACCOUNT_TYPES.get(str(obj.get("account_type", "")).lower())
        login = obj.get("account_login") or obj.get("user_id")
        return (target, str(login), None) if target and login else None
    if kind.startswith("x-fenghuo-") and isinstance(obj.get("value"), str):
        name = kind.removeprefix("x-fenghuo-").replace("-", "_")
        name = str(obj.get("identifier_type", "")) if name == "identifier" else name
        vendor = obj.get("vendor") if isinstance(obj.get("vendor"), str) else None
        return (name, obj["value"], vendor) if name in IDENTIFIER_FIELDS else None
    return None


def _rows(source: IO[bytes], index: _Index) -> Iterator[SourceRow]:
    for line, obj in _objects(source):
        kind = obj.get("type")
        if kind not in ("indicator", "observed-data"):
            continue
        if obj.get("revoked") is True:
            yield SourceRow(line, {}, (f"{kind} {obj.get('id')} is revoked; not imported",))
            continue
        notes: list[str] = []
        identifiers = _pattern_identifiers(obj, notes) if kind == "indicator" else _observed_identifiers(obj, index, notes)
        values: dict[str, object] = _lead_values(obj, index, notes)
        for name, value, vendor in identifiers:
            key = f"{vendor}_fingerprint" if vendor and name == "device_fingerprint" else name
            values.setdefault(key, []).append(value)  # type: ignore[union-attr]
        yield SourceRow(line, values, tuple(notes))


def _strings(value: object) -> list[str]:
    """The strings of a list property (a malformed bundle may hold anything there)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _lead_values(obj: dict, index: _Index, notes: list[str]) -> dict[str, object]:
    labels = [obj.get("x_fenghuo_category"), *_strings(obj.get("indicator_types")), *_strings(obj.get("labels"))]
    confidence = obj.get("confidence")
    levels = [index.tlp[ref] for ref in _strings(obj.get("object_marking_refs")) if ref in index.tlp]
    actors = sorted({index.actors[ref] for ref in index.actor_refs.get(str(obj.get("id")), []) if ref in index.actors})
    if len(actors) > 1:
        notes.append(f"several threat actors are related; the agent is {actors[0]}, the others are not kept")
    agent = obj.get("x_fenghuo_agent") or (actors[0] if actors else None)
    return {
        "category": [c for c in labels if isinstance(c, str) and c not in _GENERIC_INDICATOR_TYPES],
        "observed_at": obj.get("valid_from") or obj.get("first_observed") or obj.get("created"),
        "confidence": f"{confidence}%" if isinstance(confidence, (int, float)) else confidence,
        "tlp": max(levels, key=_TLP_ORDER.index) if levels else None,
        "agent": agent,
        "note": obj.get("description") or obj.get("name"),
        "reference": obj.get("x_fenghuo_reference") or obj.get("id"),
    }


def _pattern_identifiers(obj: dict, notes: list[str]) -> list[tuple[str, str, str | None]]:
    pattern = obj.get("pattern")
    if obj.get("pattern_type", "stix") != "stix" or not isinstance(pattern, str):
        notes.append(f"only STIX patterns are read, not {obj.get('pattern_type')!r}")
        return []
    if any(op.strip() != "=" for _, _, op in _COMPARISON.findall(_QUOTED.sub("''", pattern))):
        notes.append("pattern comparisons other than '=' are not identifiers and were skipped")
    found: list[tuple[str, str, str | None]] = []
    for observation in _OBSERVATION.findall(pattern):
        comparisons = [(o.lower(), p.lower(), _unescape(v)) for o, p, v in _EQUALITY.findall(observation)]
        context = {(o, p): v for o, p, v in comparisons}  # account_type, identifier_type, vendor
        for kind, prop, value in comparisons:
            identifier = _comparison_identifier(obj, kind, prop, value, context, notes)
            if identifier:
                found.append(identifier)
    if not found:
        notes.append("the pattern names no identifier Fenghuo shares")
    return found


def _comparison_identifier(
    obj: dict, kind: str, prop: str, value: str, context: dict[tuple[str, str], str], notes: list[str]
) -> tuple[str, str, str | None] | None:
    if kind == "user-account" and prop in ("account_login", "user_id"):
        account_type = context.get((kind, "account_type")) or obj.get("x_fenghuo_type") or ""
        target = _ACCOUNT_TYPES.get(str(account_type).lower())
        if target is None:
            notes.append(f"user-account of type {account_type!r} is not WeChat, Alipay or QQ; skipped")
        return (target, value, None) if target else None
    if prop != "value":
        return None
    pseudo = {"type": kind, "value": value, "identifier_type": context.get((kind, "identifier_type"), "")}
    pseudo["vendor"] = context.get((kind, "vendor"))
    observable = _observable(pseudo)
    if observable is None:
        notes.append(f"pattern object {kind} is not an identifier Fenghuo shares; skipped")
    return observable


def _observed_identifiers(obj: dict, index: _Index, notes: list[str]) -> list[tuple[str, str, str | None]]:
    found = [index.observables[ref] for ref in _strings(obj.get("object_refs")) if ref in index.observables]
    embedded = obj.get("objects") if isinstance(obj.get("objects"), dict) else {}  # STIX 2.0 style
    found += [o for o in map(_observable, (v for v in embedded.values() if isinstance(v, dict))) if o]
    if not found and (obj.get("object_refs") or embedded):
        notes.append("none of the observed objects is an identifier Fenghuo shares")
    return found


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)
