"""The case package: a ZIP a liaison downloads, and its offline check.

Files: report.pdf, leads.csv, case.json, stix-bundle.json, attachments/*, and manifest.json listing the SHA-256
and size of every other file, signed with the node's Ed25519 key over the canonical JSON of everything in the
manifest but the signature. `verify` fails on any changed, missing or extra file and on any change to the manifest.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from access.node_key import key_id, public_bytes
from escalation import leads_csv, report_pdf, stix
from escalation.models import CaseStatus, RoutingRule

FORMAT = "fenghuo-case-package/1"
MANIFEST = "manifest.json"


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def case_document(case: dict[str, Any], revealed: list[dict[str, Any]]) -> dict[str, Any]:
    j = case.get("jurisdiction")
    evidence = {r["escalation_id"]: r for r in revealed}
    return {
        "case_number": case["number"], "title": case["title"], "status": case["status"],
        "status_label": CaseStatus(case["status"]).label, "police_case_number": case.get("police_case_number"),
        "jurisdiction": {"code": j.code, "name": j.name, "bureau": j.bureau} if j else {"code": case["jurisdiction_code"]},
        "categories": case.get("categories") or [],
        "created_at": str(case["created_at"]), "updated_at": str(case["updated_at"]),
        "contributions": [{
            "escalation_id": c["id"], "member_code": c["member_code"], "category": c["category"], "reason": c["reason"],
            "routing": {"rule": c["routing_rule"], "rule_label": RoutingRule(c["routing_rule"]).label,
                        "basis": c["routing_basis"]},
            "evidence": evidence.get(c["id"], {}).get("evidence", ""),
            "identifiers": evidence.get(c["id"], {}).get("identifiers", []),
            "leads": c.get("leads") or [], "attachments": c.get("attachments") or [],
            "submitted_at": str(c["created_at"]),
        } for c in case["contributions"]],
        "timeline": [{"at": str(e["at"]), "kind": e["kind"], "status": e.get("status"), "note": e.get("note"),
                      "police_case_number": e.get("police_case_number")} for e in case["events"]],
    }


def build(case: dict[str, Any], revealed: list[dict[str, Any]], attachments: list[dict[str, Any]],
          node_key: Ed25519PrivateKey, node_name: str = "Fenghuo 烽火联盟") -> bytes:
    files = {
        "report.pdf": report_pdf.render(case, revealed),
        "leads.csv": leads_csv.render(case),
        "case.json": json.dumps(case_document(case, revealed), ensure_ascii=False, indent=2, default=str).encode(),
        "stix-bundle.json": json.dumps(stix.bundle(case, revealed, node_name), ensure_ascii=False, indent=2).encode(),
    }
    for a in attachments:
        files[f"attachments/{a['id']}-{a['filename']}"] = a["content"]
    manifest = {
        "format": FORMAT, "case_number": case["number"],
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": [{"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                  for name, data in sorted(files.items())],
        "signer": {"alg": "Ed25519", "key_id": key_id(node_key),
                   "public_key": base64.b64encode(public_bytes(node_key)).decode()},
    }
    manifest["signature"] = base64.b64encode(node_key.sign(canonical(manifest))).decode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
    return buffer.getvalue()


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    case_number: str | None = None
    key_id: str | None = None
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path | str, trusted_public_key: bytes | None = None) -> Verification:
    """Check a package offline; `trusted_public_key` (raw 32 bytes, from the node's well-known URL) pins the signer."""
    result = Verification()
    try:
        archive = zipfile.ZipFile(path)
        names = set(archive.namelist())
        manifest = json.loads(archive.read(MANIFEST))
        signature = base64.b64decode(manifest.pop("signature"))
        public = base64.b64decode(manifest["signer"]["public_key"])
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
        result.problems.append(f"not a readable case package ({type(error).__name__}: {error})")
        return result
    result.case_number, result.key_id = manifest.get("case_number"), manifest["signer"].get("key_id")
    if trusted_public_key is not None and public != trusted_public_key:
        result.problems.append("signed by another key than the trusted node key")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, canonical(manifest))
    except (InvalidSignature, ValueError):
        result.problems.append("manifest signature does not verify: the manifest was changed or signed by another key")
    listed = {entry["name"]: entry for entry in manifest.get("files", [])}
    for name in sorted(names - listed.keys() - {MANIFEST}):
        result.problems.append(f"{name}: not listed in the manifest")
    for name, entry in sorted(listed.items()):
        if name not in names:
            result.problems.append(f"{name}: listed in the manifest but missing")
            continue
        try:
            data = archive.read(name)
        except (zipfile.BadZipFile, OSError, ValueError) as error:  # a changed byte can break the ZIP's own CRC
            result.problems.append(f"{name}: unreadable ({error})")
            continue
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            result.problems.append(f"{name}: SHA-256 differs from the manifest")
    result.files = len(listed)
    return result
