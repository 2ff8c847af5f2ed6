"""Checks against the real graph: every status, scoring behaviour, disputes, retraction and TLP visibility."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator

import pytest

from core.principal import Principal, Role
from audit.log import AuditLog
from audit.reader import Reader
from check import service
from indicators import disputes
from leads.retraction import retract
from check.service import IdentifierQuery, LeadQuery
from graph.database import Graph
from ingest.pipeline import BatchRunner
from tests.support import TEST_KEY, add_member

PHONE = "13812345678"


def member(code: str, *roles: Role) -> Principal:
    return Principal(id=f"key:{code.lower()}", member_code=code, roles=frozenset(roles or (Role.ANALYST, Role.UPLOADER)))


OPERATOR = Principal(id="key:op", member_code="HUB", roles=frozenset({Role.OPERATOR}))


@pytest.fixture
async def alliance(graph: Graph, tmp_path: Path) -> AsyncIterator[BatchRunner]:
    for code in ("ACME", "BETA", "GAMMA", "DELTA", "EPSI", "ZETA"):
        await add_member(graph, code)
    await add_member(graph, "HUB", hotlines=["400-819-6155"])
    audit = AuditLog(graph)
    yield BatchRunner(graph, audit, TEST_KEY, tmp_path / "spool")
    await audit.close()


async def file(runner: BatchRunner, code: str, *leads: dict) -> list[str]:
    outcome = await runner.submit_leads(member(code), list(leads), idempotency_key=None)
    assert outcome.batch["status"] == "committed"
    return [row["line"] for row in outcome.results]


async def check(graph: Graph, who: Principal, *values: tuple[str, str], now: datetime | None = None) -> service.LeadVerdict:
    lead = LeadQuery(ref="applicant-1", identifiers=[IdentifierQuery(t, v) for t, v in values])
    return (await service.check_leads(Reader(graph, AuditLog(graph), who), TEST_KEY, [lead], now=now))[0]


def lead(phone: str = PHONE, category: str = "LOAN_INTERMEDIARY", days_ago: int = 10, **extra) -> dict:
    observed = (datetime.now(timezone.utc) - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M")
    return {"category": category, "phone": phone, "observed_at": observed, "confidence": "0.9", **extra}


async def test_an_unknown_identifier_is_no_record(alliance: BatchRunner, graph: Graph) -> None:
    verdict = (await check(graph, member("ACME"), ("phone", "13900001111"))).verdicts[0]
    assert (verdict.status, verdict.points) == ("no_record", 0)


async def test_a_reported_identifier_is_active_with_contributions(alliance: BatchRunner, graph: Graph) -> None:
    await file(alliance, "BETA", lead())
    result = await check(graph, member("ACME"), ("phone", "+86 138-1234-5678"))
    verdict = result.verdicts[0]
    assert verdict.status == "active" and verdict.points > 0 and result.score == verdict.points
    assert verdict.score.categories == ("LOAN_INTERMEDIARY",) and verdict.score.members == 1
    assert verdict.score.contributions[0].member_code is None  # BETA did not file with attribution


async def test_an_invalid_identifier_is_reported_per_item(alliance: BatchRunner, graph: Graph) -> None:
    verdicts = (await check(graph, member("ACME"), ("phone", "1.38001E+10"), ("phone", PHONE))).verdicts
    assert verdicts[0].status == "invalid" and "lost digits" in verdicts[0].reason
    assert verdicts[1].status == "no_record"


async def test_benign_numbers_are_always_benign(alliance: BatchRunner, graph: Graph) -> None:
    verdicts = (await check(graph, member("ACME"), ("phone", "95588"), ("phone", "4008196155"))).verdicts
    assert [v.status for v in verdicts] == ["benign", "benign"]
    assert all(v.points == 0 for v in verdicts)


async def test_decay_lowers_a_score_over_time(alliance: BatchRunner, graph: Graph) -> None:
    await file(alliance, "BETA", lead(days_ago=1))
    now = datetime.now(timezone.utc)
    today = (await check(graph, member("ACME"), ("phone", PHONE), now=now)).verdicts[0]
    later = (await check(graph, member("ACME"), ("phone", PHONE), now=now + timedelta(days=200))).verdicts[0]
    assert today.points > later.points


async def test_a_lead_past_its_lifetime_is_expired(alliance: BatchRunner, graph: Graph) -> None:
    await file(alliance, "BETA", lead(days_ago=1))
    verdict = (await check(graph, member("ACME"), ("phone", PHONE), now=datetime.now(timezone.utc) + timedelta(days=3000))).verdicts[0]
    assert (verdict.status, verdict.points) == ("expired", 0)


async def test_one_member_filing_50_leads_scores_lower_than_5_members_filing_one_each(alliance: BatchRunner, graph: Graph) -> None:
    lonely, crowd = "13811110000", "13822220000"
    await file(alliance, "BETA", *[lead(lonely, days_ago=n + 1, note=f"report {n}") for n in range(50)])
    for code in ("BETA", "GAMMA", "DELTA", "EPSI", "ZETA"):
        await file(alliance, code, lead(crowd))
    one, five = (await check(graph, member("ACME"), ("phone", lonely), ("phone", crowd))).verdicts
    assert one.score.members == 1 and five.score.members == 5
    assert one.points < five.points


async def test_a_dispute_shows_until_ruled_and_an_upheld_one_stops_matching(alliance: BatchRunner, graph: Graph) -> None:
    await file(alliance, "BETA", lead())
    opened = await disputes.dispute(graph, AuditLog(graph), member("ACME"), TEST_KEY, type="phone", value=PHONE,
                                    reason="consumer complaint #123")
    assert (await check(graph, member("ACME"), ("phone", PHONE))).verdicts[0].status == "disputed"
    await disputes.resolve(graph, AuditLog(graph), OPERATOR, dispute_id=opened["id"], uphold=True, note="wrongly listed")
    verdict = (await check(graph, member("ACME"), ("phone", PHONE))).verdicts[0]
    assert (verdict.status, verdict.points) == ("retracted", 0)
    assert await graph.read("MATCH (l:Lead) RETURN count(l) AS n") == [{"n": 1}]  # retained for audit


async def test_a_rejected_dispute_restores_the_listing(alliance: BatchRunner, graph: Graph) -> None:
    await file(alliance, "BETA", lead())
    opened = await disputes.dispute(graph, AuditLog(graph), member("ACME"), TEST_KEY, type="phone", value=PHONE, reason="x")
    await disputes.resolve(graph, AuditLog(graph), OPERATOR, dispute_id=opened["id"], uphold=False, note=None)
    assert (await check(graph, member("ACME"), ("phone", PHONE))).verdicts[0].status == "active"


async def test_a_retracted_lead_no_longer_contributes(alliance: BatchRunner, graph: Graph) -> None:
    await file(alliance, "BETA", lead())
    await file(alliance, "GAMMA", lead(category="ANTI_COLLECTION"))
    before = (await check(graph, member("ACME"), ("phone", PHONE))).verdicts[0]
    beta_leads = [row["id"] for row in await graph.read("MATCH (l:Lead {member_code: 'BETA'}) RETURN l.id AS id")]
    assert await retract(graph, AuditLog(graph), member("BETA"), lead_ids=beta_leads, reason="filed in error") == beta_leads
    after = (await check(graph, member("ACME"), ("phone", PHONE))).verdicts[0]
    assert before.score.members == 2 and after.score.members == 1
    assert after.score.categories == ("ANTI_COLLECTION",) and after.points < before.points


async def test_a_member_cannot_retract_another_members_lead(alliance: BatchRunner, graph: Graph) -> None:
    await file(alliance, "BETA", lead())
    ids = [row["id"] for row in await graph.read("MATCH (l:Lead) RETURN l.id AS id")]
    assert await retract(graph, AuditLog(graph), member("GAMMA"), lead_ids=ids, reason="x") == []
    assert (await check(graph, member("ACME"), ("phone", PHONE))).verdicts[0].status == "active"


async def test_a_red_lead_never_reaches_another_member(alliance: BatchRunner, graph: Graph) -> None:
    from graph import lead_reads

    await file(alliance, "BETA", lead(tlp="RED"))
    other = (await check(graph, member("ACME"), ("phone", PHONE))).verdicts[0]
    own = (await check(graph, member("BETA"), ("phone", PHONE))).verdicts[0]
    hub = (await check(graph, OPERATOR, ("phone", PHONE))).verdicts[0]
    assert (other.status, other.points) == ("no_record", 0)
    assert own.status == "active" and hub.status == "active"
    key = (await graph.read("MATCH (i:Indicator) WHERE NOT i.benign RETURN i.key AS key"))[0]["key"]
    assert await lead_reads.indicator(graph, member("ACME"), key) is None  # as if it did not exist
    assert (await lead_reads.indicator(graph, member("BETA"), key))["members"] == 1
    red_id = (await graph.read("MATCH (l:Lead) RETURN l.id AS id"))[0]["id"]
    assert await lead_reads.lead(graph, member("ACME"), red_id) is None
    assert await lead_reads.lead(graph, member("BETA"), red_id) is not None


async def test_green_leads_reach_peers_but_amber_ones_do_not(alliance: BatchRunner, graph: Graph) -> None:
    await file(alliance, "BETA", lead("13800000001", tlp="GREEN"), lead("13800000002", tlp="AMBER"))
    peer = Principal(id="key:peer", member_code="PEERNODE", roles=frozenset({Role.PEER}))
    green, amber = (await check(graph, peer, ("phone", "13800000001"), ("phone", "13800000002"))).verdicts
    assert green.status == "active" and amber.status == "no_record"


async def test_an_attributed_lead_names_its_filer(alliance: BatchRunner, graph: Graph) -> None:
    await alliance.submit_leads(member("BETA"), [lead()], idempotency_key=None, attributed=True)
    verdict = (await check(graph, member("ACME"), ("phone", PHONE))).verdicts[0]
    assert verdict.score.contributions[0].member_code == "BETA"


async def test_every_check_is_audited_with_keys_never_raw_values(alliance: BatchRunner, graph: Graph) -> None:
    audit = AuditLog(graph)
    lead_query = LeadQuery(ref="a", identifiers=[IdentifierQuery("phone", PHONE)])
    await service.check_leads(Reader(graph, audit, member("ACME")), TEST_KEY, [lead_query])
    await audit.flush()
    rows = await graph.read("MATCH (r:AuditRecord {action: 'check'}) RETURN r.subject AS subject, r.member_code AS m")
    assert rows[0]["m"] == "ACME" and rows[0]["subject"][0].startswith("phone:")
    assert PHONE not in str(rows) and "8613812345678" not in str(rows)


async def test_more_than_10000_identifiers_are_refused(alliance: BatchRunner, graph: Graph) -> None:
    from core.errors import BadInput

    many = [LeadQuery(ref=str(n), identifiers=[IdentifierQuery("phone", PHONE)] * 101) for n in range(100)]
    with pytest.raises(BadInput, match="10000"):
        await service.check_leads(Reader(graph, AuditLog(graph), member("ACME")), TEST_KEY, many)


async def test_retracting_a_lead_takes_it_out_of_its_network(alliance: BatchRunner, graph: Graph) -> None:
    from networks.flows import assign_networks

    alliance.after_aggregation.append(assign_networks)
    device = "867530021234560"
    await file(alliance, "BETA", lead("13800000001", device=device), lead("13800000002", device=device))
    assert len(await graph.read("MATCH (n:Network) RETURN n.id AS id")) == 1
    first = (await graph.read("MATCH (l:Lead {member_code: 'BETA'}) RETURN l.id AS id ORDER BY l.seq LIMIT 1"))[0]["id"]
    await retract(graph, AuditLog(graph), member("BETA"), lead_ids=[first], reason="filed in error")
    assert await graph.read("MATCH (n:Network) RETURN n.id AS id") == []


async def test_a_strongly_reported_neighbour_lends_its_base_as_the_bounded_boost(alliance: BatchRunner, graph: Graph) -> None:
    """The phone shares a lead with a device four members report: its boost is scoring's bound on the device's
    base, as the device's own check computes that base from its aggregates."""
    device = "867530021234560"
    await file(alliance, "BETA", lead("13800000001", category="DEVICE_FARM", device=device))
    for n, code in enumerate(("GAMMA", "DELTA", "EPSI"), start=2):
        await file(alliance, code, lead(f"1380000000{n}", category="DEVICE_FARM", device=device))
    now = datetime.now(timezone.utc)
    phone = (await check(graph, member("ACME"), ("phone", "13800000001"), now=now)).verdicts[0]
    neighbour = (await check(graph, member("ACME"), ("device", device), now=now)).verdicts[0]
    assert neighbour.score.base > service.scoring.NEIGHBOUR_THRESHOLD and neighbour.score.members == 4
    expected = min(service.scoring.neighbour_boost([neighbour.score.base]), 1.0 - phone.score.base)
    assert phone.score.boost == expected > 0.0
    assert phone.points == service.scoring._percent(phone.score.base + expected)


DEVICE = "867530021234560"


async def strong_device(runner: BatchRunner, device: str = DEVICE) -> None:
    """Three members report the device: its base passes the neighbour threshold."""
    for n, code in enumerate(("GAMMA", "DELTA", "EPSI"), start=2):
        await file(runner, code, lead(f"1380000000{n}", category="DEVICE_FARM", device=device))


async def test_another_members_red_lead_links_nothing_for_the_caller(alliance: BatchRunner, graph: Graph) -> None:
    """BETA's TLP:RED lead names the phone with a strongly reported device. ACME knows the phone through GAMMA's
    AMBER lead: its check scores exactly as before the RED lead was filed; BETA's own check is boosted by it."""
    await strong_device(alliance)
    await file(alliance, "GAMMA", lead("13800000001", category="DEVICE_FARM"))
    now = datetime.now(timezone.utc)
    before = (await check(graph, member("ACME"), ("phone", "13800000001"), now=now)).verdicts[0]
    await file(alliance, "BETA", lead("13800000001", category="DEVICE_FARM", device=DEVICE, tlp="RED"))
    after = (await check(graph, member("ACME"), ("phone", "13800000001"), now=now)).verdicts[0]
    own = (await check(graph, member("BETA"), ("phone", "13800000001"), now=now)).verdicts[0]
    assert before.status == "active" and before.score.boost == 0.0
    assert after.score == before.score
    assert own.score.boost > 0.0


async def test_a_retracted_lead_links_nothing(alliance: BatchRunner, graph: Graph) -> None:
    await strong_device(alliance)
    await file(alliance, "BETA", lead("13800000001", category="DEVICE_FARM"),
               lead("13800000001", category="DEVICE_FARM", device=DEVICE))
    linked = (await check(graph, member("ACME"), ("phone", "13800000001"))).verdicts[0]
    linking = await graph.read("MATCH (l:Lead {member_code: 'BETA'}) WHERE COUNT { (l)-[:NAMES]->() } = 2 RETURN l.id AS id")
    await retract(graph, AuditLog(graph), member("BETA"), lead_ids=[linking[0]["id"]], reason="filed in error")
    unlinked = (await check(graph, member("ACME"), ("phone", "13800000001"))).verdicts[0]
    assert linked.score.boost > 0.0
    assert unlinked.status == "active" and unlinked.score.boost == 0.0


async def test_neighbours_are_ranked_by_the_leads_naming_both_and_limited(alliance: BatchRunner, graph: Graph) -> None:
    """The phone shares 3 leads with one device, 2 with another and 1 with each of five more: the lookup names the
    five the most leads link (ties by key), as counted in the graph."""
    from graph import checks as repo
    from ingest.demo import luhn_digit
    from ingest.pseudonym import identify

    devices = [body + str(luhn_digit(body)) for body in (f"86753002123{n:03d}" for n in range(7))]
    shared = [3, 2, 1, 1, 1, 1, 1]
    await file(alliance, "BETA", *[lead("13800000001", device=d, days_ago=10 + day)
                                   for d, times in zip(devices, shared) for day in range(times)])
    phone = identify(TEST_KEY, "phone", "13800000001").key
    row = (await repo.lookup(graph, member("ACME"), [phone], hub_cap=service.HUB_CAP, neighbours=5))[0]
    counted = {r["key"]: r["links"] for r in await graph.read(
        "MATCH (:Indicator {key: $key})<-[:NAMES]-(l:Lead)-[:NAMES]->(n:Indicator) RETURN n.key AS key, count(l) AS links",
        {"key": phone})}
    expected = sorted(counted, key=lambda k: (-counted[k], k))[:5]
    assert len(counted) == 7 and [n["key"] for n in row["neighbours"]] == expected
    assert [counted[k] for k in expected][:2] == [3, 2]


async def test_the_hub_cap_counts_the_leads_the_caller_sees(alliance: BatchRunner, graph: Graph) -> None:
    """A device named by HUB_CAP AMBER leads and 5 RED ones of BETA's: for ACME it is within the cap and lends the
    phone a boost; for an operator, who counts all HUB_CAP + 5, it is a hub and lends nothing."""
    await file(alliance, "GAMMA", *[lead(f"139{n:08d}", category="DEVICE_FARM", device=DEVICE)
                                    for n in range(service.HUB_CAP - 1)])
    await file(alliance, "DELTA", lead("13800000001", category="DEVICE_FARM", device=DEVICE))
    await file(alliance, "BETA", *[lead(f"137{n:08d}", category="DEVICE_FARM", device=DEVICE, tlp="RED") for n in range(5)])
    member_view = (await check(graph, member("ACME"), ("phone", "13800000001"))).verdicts[0]
    operator_view = (await check(graph, OPERATOR, ("phone", "13800000001"))).verdicts[0]
    assert member_view.score.boost > 0.0
    assert operator_view.status == "active" and operator_view.score.boost == 0.0
