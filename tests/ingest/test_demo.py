"""The synthetic lead batch generator: reproducible, valid by construction, networks planted, streamed."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import time
import tracemalloc
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import phonenumbers
import pytest
from hypothesis import given, settings, strategies as st
from phonenumbers import geocoder

from ingest import demo

TODAY = date(2025, 6, 15)
ROWS = 50_000

# The category vocabulary of DESIGN §2, written out independently of the generator.
KNOWN_LABELS = set(
    "LOAN_INTERMEDIARY 贷款中介 中介 非法贷款中介 助贷中介 中介代办 APPLICATION_FRAUD 资料包装 信息包装 伪造资料 包装资料 "
    "REMOTE_ASSISTED 远程助贷 远程操控 远程代办 IDENTITY_THEFT 身份冒用 盗用身份 冒名贷款 ANTI_COLLECTION 反催收 代理维权 "
    "非法代理维权 债务重组 协商还款 反催收联盟 CREDIT_REPAIR_SCAM 征信修复 征信洗白 IMPERSONATE_AUTHORITY 冒充公检法 冒充警察 "
    "冒充监管 IMPERSONATE_SUPPORT 冒充客服 假客服 注销校园贷 MONEY_MULE 跑分洗钱 跑分 洗钱 两卡 出租出借银行卡 DEVICE_FARM "
    "设备农场 猫池 卡池 群控 改机 接码平台 MALICIOUS_COMPLAINT 恶意投诉 职业投诉 SURRENDER_AGENT 代理退保 退保中介 "
    "PROMOTION_ABUSE 羊毛党 薅羊毛 FAKE_LOAN_APP 虚假贷款 虚假网贷 虚假网络贷款".split()
)
PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
             61, 62, 63, 64, 65}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATE = re.compile(r"(\d{4})(?:-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}))?|/(\d{1,2})/(\d{1,2})|年(\d{1,2})月(\d{1,2})日)")


# Independent reference implementations of the checksums (not the generator's lookup tables).
def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in reversed(number)]
    return sum(d if k % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for k, d in enumerate(digits)) % 10 == 0


def id_ok(pid: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", pid.upper()):
        return False
    weights = [2 ** (17 - k) % 11 for k in range(17)]  # = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    return "10X98765432"[sum(int(c) * w for c, w in zip(pid, weights)) % 11] == pid[17].upper()


def parse_date(text: str) -> date:
    m = DATE.fullmatch(text)
    assert m, text
    year, *rest = m.groups()
    month, day = [int(x) for x in rest if x is not None][:2]
    return date(int(year), month, day)


def phone_digits(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "batch.csv"
    stats = demo.generate(path, ROWS, seed=7, today=TODAY)
    data = path.read_bytes()
    table = read_csv(data)
    return stats, data, table[0], [dict(zip(table[0], r)) for r in table[1:]]


def test_header_bom_crlf_and_shape(batch):
    stats, data, header, rows = batch
    assert tuple(header) == demo.COLUMNS == ("编号", "黑产类型", "手机号", "设备号", "身份证号", "银行卡号", "发现时间",
                                             "中介/团伙", "置信度", "TLP", "备注")
    assert data.count(b"\r\n") == ROWS + 1 and data.count(b"\n") == ROWS + 1
    assert len(rows) == stats.rows == ROWS and all(len(r) == 11 for r in rows)


def test_same_arguments_give_identical_bytes(tmp_path):
    def digest(**kw) -> str:
        out = tmp_path / "x.csv"
        demo.generate(out, 5_000, today=TODAY, **kw)
        return hashlib.sha256(out.read_bytes()).hexdigest()

    first = digest(seed=3, members=3, member=1)
    assert digest(seed=3, members=3, member=1) == first
    assert len({first, digest(seed=4, members=3, member=1), digest(seed=3, members=3, member=2)}) == 3


def test_text_stream_output_matches_file(tmp_path):
    buf = io.StringIO()
    demo.generate(buf, 300, seed=11, today=TODAY)
    demo.generate(tmp_path / "y.csv", 300, seed=11, today=TODAY)
    assert buf.getvalue().startswith("\ufeff编号,")
    assert buf.getvalue().encode("utf-8") == (tmp_path / "y.csv").read_bytes()


def test_resident_ids_valid_except_planted_bad_checks(batch):
    stats, _, _, rows = batch
    ids = [r["身份证号"] for r in rows if r["身份证号"]]
    bad = [pid for pid in ids if not id_ok(pid)]
    assert len(ids) > ROWS // 2
    assert len(bad) == stats.dirty_by_kind["bad_id_check"] > 0
    for pid in ids:
        assert len(pid) == 18 and int(pid[:2]) in PROVINCES
        born = date(int(pid[6:10]), int(pid[10:12]), int(pid[12:14]))  # a real date, or ValueError
        assert date(1960, 1, 1) <= born <= date(2004, 12, 31)
    assert len({pid[:6] for pid in ids}) >= 50
    assert any(pid.endswith("x") for pid in ids) and any(pid.endswith("X") for pid in ids)


def test_cards_and_imeis_pass_luhn_and_oaids_are_uuids(batch):
    _, _, _, rows = batch
    cards = [r["银行卡号"] for r in rows if r["银行卡号"]]
    assert cards and all(c.startswith("62") and len(c) in (16, 19) and luhn_ok(c) for c in cards)
    assert {len(c) for c in cards} == {16, 19}
    devices = [r["设备号"] for r in rows if r["设备号"]]
    imeis = [d for d in devices if d.isdigit()]
    oaids = [d for d in devices if not d.isdigit()]
    assert all(len(d) == 15 and luhn_ok(d) for d in imeis)
    assert all(UUID.fullmatch(d) and set(d) != {"0", "-"} for d in oaids)
    assert 0.1 < len(oaids) / len(devices) < 0.4


def test_phones_valid_and_spread_across_regions(batch):
    stats, _, _, rows = batch
    mangled = [r["手机号"] for r in rows if "E+" in r["手机号"]]
    assert len(mangled) == stats.dirty_by_kind["mangled_phone"] > 0
    assert all(re.fullmatch(r"[12](\.\d{1,5})?E\+10", p) for p in mangled)  # 1.99999…E+10 rounds to 2E+10
    phones = [phone_digits(r["手机号"]) for r in rows if r["手机号"] and "E+" not in r["手机号"]]
    assert all(len(p) == 11 and p.startswith("1") for p in phones)
    assert any(not r["手机号"].isdigit() and "E+" not in r["手机号"] for r in rows if r["手机号"])  # +86 / dashes occur
    sample = phones[:: len(phones) // 1000][:1000]
    parsed = [phonenumbers.parse(p, "CN") for p in sample]
    assert sum(map(phonenumbers.is_valid_number, parsed)) >= 990
    regions = {geocoder.description_for_number(n, "zh") for n in parsed} - {"", "中国"}
    assert len(regions) >= 10


def test_categories_known_and_weighted(batch):
    stats, _, _, rows = batch
    labels = Counter(r["黑产类型"] for r in rows if any(r.values()))
    assert labels.pop("其他") == stats.dirty_by_kind["unknown_category"]
    assert set(labels) <= KNOWN_LABELS
    assert len(set(labels) & {"贷款中介", "中介", "反催收", "代理维权", "跑分", "猫池", "冒充客服", "LOAN_INTERMEDIARY"}) == 8
    intermediary = sum(n for lab, n in labels.items() if "中介" in lab or lab in {"LOAN_INTERMEDIARY", "助贷中介"})
    anti = sum(labels[k] for k in ("反催收", "代理维权", "非法代理维权", "债务重组", "协商还款", "反催收联盟", "ANTI_COLLECTION"))
    commonest_other = max(n for lab, n in labels.items() if lab not in {"贷款中介", "中介", "反催收", "代理维权"})
    assert intermediary > 0.25 * len(rows) and anti > 0.2 * len(rows) and labels["贷款中介"] > commonest_other


def test_dates_confidence_tlp_notes(batch):
    stats, _, _, rows = batch
    filled = [r for r in rows if any(r.values())]
    dates = [parse_date(r["发现时间"]) for r in filled]
    assert sum(d > TODAY for d in dates) == stats.dirty_by_kind["future_date"] > 0
    assert min(dates) >= TODAY - timedelta(days=731)
    kinds = Counter("time" if ":" in r["发现时间"] else "cn" if "年" in r["发现时间"] else
                    "slash" if "/" in r["发现时间"] else "iso" for r in filled)
    assert all(n > 0.1 * len(filled) for n in kinds.values()) and len(kinds) == 4
    conf = Counter(r["置信度"] for r in filled)
    assert all(c in {"高", "中", "低"} or 0.5 <= float(c) <= 1.0 for c in conf)
    assert conf["高"] and conf["低"] and sum(n for c, n in conf.items() if c[0].isdigit()) > len(filled) / 2
    tlp = Counter(r["TLP"] for r in filled)
    assert set(tlp) == {"AMBER", "GREEN", "RED"} and tlp["AMBER"] > 0.7 * len(filled) and tlp["RED"] < tlp["GREEN"]
    assert sum(bool(r["备注"]) for r in filled) > len(filled) / 2
    assert all(re.search(r"[\u4e00-\u9fff]", r["备注"]) for r in filled if r["备注"])


def test_planted_networks_share_identifiers(batch):
    stats, _, _, rows = batch
    assert stats.planted_networks == demo.network_count(ROWS) and 0.25 < stats.network_rows / ROWS < 0.35
    by_device: dict[str, list[dict]] = {}
    for r in rows:
        if r["设备号"]:
            by_device.setdefault(r["设备号"], []).append(r)
    shared = {d: rs for d, rs in by_device.items() if len(rs) >= 3}
    assert len(shared) >= stats.planted_networks
    # Some network leads name their agent, others do not: the platform must link them by identifiers.
    assert any({bool(r["中介/团伙"]) for r in rs} == {True, False} for rs in shared.values())
    agents = Counter(r["中介/团伙"] for r in rows if r["中介/团伙"])
    assert any(name.endswith("中介") for name in agents) and any("维权" in name for name in agents)
    for i in range(stats.planted_networks):
        net = demo.network(7, i)
        assert 5 <= len(net.phones) <= 40 and 2 <= len(net.devices) <= 7  # one may be borrowed from the gang before
    singletons = sum(len(rs) == 1 for rs in by_device.values())
    assert singletons > 0.8 * len(by_device)  # most other rows are independent actors with fresh identifiers


def test_platform_rules_refuse_exactly_the_planted_dirt():
    """The project's own identifier, category and date rules accept every clean value and refuse the dirt."""
    from ingest.categories import resolve_category
    from ingest.dates import parse_observed_at
    from ingest.identifiers import Invalid, normalize

    now = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=timezone.utc)
    stats, refused = demo.GenerationStats(), Counter()
    for r in demo.iter_rows(5_000, 21, today=TODAY, stats=stats):
        for column, kind in (("手机号", "phone"), ("设备号", "device"), ("身份证号", "id_number"), ("银行卡号", "bank_card")):
            result = normalize(kind, r[column]) if r[column] else None
            refused[kind] += isinstance(result, Invalid) or bool(result and result.warnings)
        refused["category"] += any(r.values()) and resolve_category(r["黑产类型"]) is None
        refused["date"] += any(r.values()) and not isinstance(parse_observed_at(r["发现时间"], now=now), datetime)
    dirt = stats.dirty_by_kind
    assert refused == Counter(phone=dirt["mangled_phone"], id_number=dirt["bad_id_check"], device=0, bank_card=0,
                              category=dirt["unknown_category"], date=dirt["future_date"])


def test_members_overlap_on_shared_networks():
    def identifiers(member: int) -> tuple[set[str], set[str]]:
        rows = list(demo.iter_rows(20_000, 5, members=3, member=member, dirty_ratio=0, today=TODAY))
        return {r["设备号"] for r in rows if r["设备号"]}, {r["编号"] for r in rows}

    (dev0, ids0), (dev1, ids1) = identifiers(0), identifiers(1)
    common = dev0 & dev1
    assert common and len(common) < 0.1 * min(len(dev0), len(dev1))
    pools = {d for i in range(demo.network_count(20_000, 3)) for d in demo.network(5, i).devices}
    assert len(common & pools) > 0.5 * len(common)  # the overlap is the shared gangs, not chance
    assert not ids0 & ids1
    shared_nets = [i for i in range(demo.network_count(20_000, 3)) if {0, 1} <= demo.reporters(5, i, 3)]
    assert shared_nets and set(demo.network(5, shared_nets[0]).devices) & common


def test_dirty_ratio_respected(batch):
    stats, _, _, rows = batch
    assert 0.015 < stats.dirty_rows / ROWS < 0.025
    assert sum(stats.dirty_by_kind.values()) == stats.dirty_rows and all(stats.dirty_by_kind.values())
    assert sum(not any(r.values()) for r in rows) == stats.dirty_by_kind["blank"]
    seen, dupes = set(), 0
    for r in rows:
        key = tuple(r.values())
        dupes += key in seen and any(key)
        seen.add(key)
    assert dupes == stats.dirty_by_kind["duplicate"]
    clean = demo.GenerationStats()
    assert all(r["编号"] for r in demo.iter_rows(2_000, dirty_ratio=0, today=TODAY, stats=clean))
    assert clean.dirty_rows == 0 and clean.rows == 2_000


def test_streams_in_flat_memory(tmp_path):
    out = tmp_path / "big.csv"
    tracemalloc.start()
    try:
        started = time.perf_counter()
        stats = demo.generate(out, ROWS, seed=9)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.rows == ROWS and peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    print(f"\n{ROWS} rows under tracemalloc in {elapsed:.2f}s, peak {peak / 2**20:.1f} MiB")
    # Lazy: taking a few rows of a billion-row batch returns at once.
    assert len(list(itertools.islice(demo.iter_rows(10**9, today=TODAY), 5))) == 5


def test_throughput_is_printed_not_asserted(tmp_path):
    stats = demo.generate(tmp_path / "speed.csv", 100_000)
    print(f"\ngenerate: {stats.rows_per_s:,.0f} rows/s ({stats.elapsed_s:.2f}s for {stats.rows} rows)")


def test_rejects_bad_arguments(tmp_path):
    for kwargs in ({"fmt": "xlsx"}, {"members": 2, "member": 2}, {"dirty_ratio": 1.5}, {"members": 0}):
        with pytest.raises(ValueError):
            demo.generate(tmp_path / "bad.csv", 10, **kwargs)
    assert not (tmp_path / "bad.csv").exists()
    with pytest.raises(ValueError):
        demo.iter_rows(-1)


def test_checksum_helpers_on_published_examples():
    assert demo.luhn_digit("7992739871") == 3 and demo.luhn_digit("49015420323751") == 8
    assert demo.id_check_char("11010519491231002") == "X"
    assert all(id_ok(body + demo.id_check_char(body)) for body in ("44030519850502795", "31011519900101123"))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(-10**6, 10**6), members=st.integers(1, 5), data=st.data())
def test_any_seed_gives_valid_identifiers(seed, members, data):
    member = data.draw(st.integers(0, members - 1))
    for r in demo.iter_rows(300, seed, members=members, member=member, dirty_ratio=0, today=TODAY):
        assert r["黑产类型"] in KNOWN_LABELS and (r["手机号"] or r["设备号"])
        assert not r["身份证号"] or id_ok(r["身份证号"])
        assert not r["银行卡号"] or luhn_ok(r["银行卡号"])
        assert not r["设备号"] or UUID.fullmatch(r["设备号"]) or luhn_ok(r["设备号"])
        assert TODAY - timedelta(days=730) <= parse_date(r["发现时间"]) < TODAY
