"""Synthetic alliance lead batches: realistic, seeded, streamed CSV for demos, tests and benchmarks.

Every identifier is valid by construction (real mobile prefixes, real county codes, MOD 11-2 and Luhn
check digits computed from small lookup tables), so a million rows stream at well over 100k rows/s
in flat memory. Planted agent networks reuse a shared pool of phones/devices/cards; the pools depend
only on ``seed`` and the network index, so batches of several members overlap on the same gangs.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Iterator, TextIO

COLUMNS = ("编号", "黑产类型", "手机号", "设备号", "身份证号", "银行卡号", "发现时间", "中介/团伙", "置信度", "TLP", "备注")
DIRTY_KINDS = ("mangled_phone", "bad_id_check", "unknown_category", "blank", "duplicate", "future_date")

# 149 (电信 data-only block) is left out: libphonenumber does not accept it as a valid mobile number.
_CARRIER_PREFIXES = {
    "移动": ("134 135 136 137 138 139 147 150 151 152 157 158 159 178 182 183 184 187 188 198", 0.55),
    "联通": ("130 131 132 145 155 156 166 175 176 185 186", 0.25),
    "电信": ("133 153 173 177 180 181 189 191 199", 0.20),
}
# Real county/district codes (GB/T 2260) across the provinces.
_ID_REGIONS = (
    "110101 110102 110105 110106 110108 120101 120104 130102 130104 130602 140105 150102 210102 210202 "
    "220102 230102 230103 310101 310104 310105 310112 310115 320102 320106 320205 320506 330102 330106 "
    "330203 330302 340102 340104 350102 350203 350582 360102 370102 370202 370203 410102 410105 420102 "
    "420106 420111 430102 430104 430105 440104 440106 440303 440304 440305 440306 440604 441900 450103 "
    "460105 500103 500112 510104 510105 510107 520102 530102 540102 610103 610113 620102 630102 640104 "
    "650102"
).split()
_TACS = (  # plausible 8-digit type allocation codes (86… domestic handsets, 35… imported)
    "86769704 86891503 86420704 86814304 86122204 86953005 86637605 86445104 86011805 86298206 86577103 "
    "86700905 86833004 86174105 86360406 86925503 86480305 86052606 86716204 86239805 35391110 35875605 "
    "35332509 35467011 35209612 35693708 35145311 35808910 35272406 35920911 35611809 35487210 86386903 "
    "86690004 86158206 86504705 86822603 86947106 86271404 86613005"
).split()
_CARD_BINS = (("622202", 19), ("621226", 19), ("622848", 19), ("621700", 19), ("622588", 16),
              ("621483", 16), ("622262", 19), ("621661", 19), ("623058", 19), ("622700", 19))
# code, weight, labels as fraud teams write them (中文 first, then aliases, then the code itself).
_CATEGORIES = (
    ("LOAN_INTERMEDIARY", 30, ("贷款中介", "贷款中介", "中介", "非法贷款中介", "助贷中介", "中介代办", "LOAN_INTERMEDIARY")),
    ("ANTI_COLLECTION", 25, ("反催收", "反催收", "代理维权", "非法代理维权", "债务重组", "协商还款", "反催收联盟", "ANTI_COLLECTION")),
    ("APPLICATION_FRAUD", 8, ("资料包装", "资料包装", "信息包装", "伪造资料", "包装资料", "APPLICATION_FRAUD")),
    ("IDENTITY_THEFT", 6, ("身份冒用", "盗用身份", "冒名贷款", "IDENTITY_THEFT")),
    ("MONEY_MULE", 6, ("跑分洗钱", "跑分", "跑分", "洗钱", "两卡", "出租出借银行卡", "MONEY_MULE")),
    ("DEVICE_FARM", 5, ("设备农场", "猫池", "猫池", "卡池", "群控", "改机", "接码平台", "DEVICE_FARM")),
    ("REMOTE_ASSISTED", 4, ("远程助贷", "远程操控", "远程代办", "REMOTE_ASSISTED")),
    ("IMPERSONATE_SUPPORT", 4, ("冒充客服", "冒充客服", "假客服", "注销校园贷", "IMPERSONATE_SUPPORT")),
    ("CREDIT_REPAIR_SCAM", 3, ("征信修复", "征信修复", "征信洗白", "CREDIT_REPAIR_SCAM")),
    ("MALICIOUS_COMPLAINT", 3, ("恶意投诉", "职业投诉", "MALICIOUS_COMPLAINT")),
    ("IMPERSONATE_AUTHORITY", 2, ("冒充公检法", "冒充警察", "冒充监管", "IMPERSONATE_AUTHORITY")),
    ("SURRENDER_AGENT", 2, ("代理退保", "退保中介", "SURRENDER_AGENT")),
    ("PROMOTION_ABUSE", 1, ("羊毛党", "薅羊毛", "PROMOTION_ABUSE")),
    ("FAKE_LOAN_APP", 1, ("虚假贷款", "虚假网贷", "虚假网络贷款", "FAKE_LOAN_APP")),
)
_LABELS = {code: labels for code, _, labels in _CATEGORIES}
_NOTES = (
    "", "", "多头申请，资料疑似包装", "客户自述由中介代办", "同一设备多人申请", "贷后失联，委托第三方维权",
    "投诉话术模板一致", "电话核实为中介接听", "收入流水疑似伪造", "通讯录异常", "批量注册", "联系人号码重复",
    "要求减免息费并威胁投诉", "声称可内部渠道放款", "冒用他人身份申请", "银行卡短期内大额快进快出",
)
_NETWORK_KINDS = (  # kind, weight, name suffixes, short suffix, phones, devices, cards, related category
    ("LOAN_INTERMEDIARY", 40, ("财务咨询中介", "金融服务中介", "信息咨询中介", "商务咨询中介"), "中介",
     (5, 30), (2, 6), (0, 3), "APPLICATION_FRAUD"),
    ("ANTI_COLLECTION", 30, ("代理维权团伙", "债务协商工作室", "法务咨询团伙"), "维权", (5, 30), (2, 6), (0, 2),
     "MALICIOUS_COMPLAINT"),
    ("REMOTE_ASSISTED", 8, ("远程代办团伙",), "代办", (5, 20), (2, 5), (0, 3), "LOAN_INTERMEDIARY"),
    ("DEVICE_FARM", 8, ("猫池工作室", "群控工作室"), "猫池", (20, 40), (2, 4), (0, 0), "PROMOTION_ABUSE"),
    ("MONEY_MULE", 8, ("跑分车队", "卡农团伙"), "车队", (5, 15), (2, 6), (4, 12), "FAKE_LOAN_APP"),
    ("APPLICATION_FRAUD", 6, ("资料包装团伙",), "包装", (5, 25), (2, 6), (0, 3), "IDENTITY_THEFT"),
)
_CITIES = "深圳 广州 东莞 佛山 上海 杭州 南京 苏州 成都 重庆 武汉 长沙 郑州 西安 合肥 福州 厦门 南昌 济南 昆明".split()
_BRAND_1 = "鑫诚汇融信达恒安金富瑞盛宏宝聚泰嘉和润丰捷通德源华顺天隆合永昌兴"  # 32 × 32 distinct brands
_BRAND_2 = "鼎佳祥辉晟升越锦程铭旺邦腾亿禾康福泽鸿运亨裕博远启航正广众兆乾元"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # Luhn: digit doubled, digits summed
_NETWORK_SHARE = 0.3  # share of a batch's rows that belong to planted networks


def _luhn_sum(digits: str, tail: int = 0) -> int:
    """Luhn sum of ``digits`` when ``tail`` more payload digits follow them (the check digit excluded)."""
    return sum(_DOUBLE[int(c)] if (k + tail) % 2 == 0 else int(c) for k, c in enumerate(reversed(digits)))


def luhn_digit(payload: str) -> int:
    """The Luhn check digit to append to ``payload``."""
    return (10 - _luhn_sum(payload) % 10) % 10


def id_check_char(body17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 characters."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS)) % 11]


def _table(pairs, size: int = 1000) -> tuple:
    """Weighted choice as a lookup table: ``table[int(random() * len(table))]``."""
    total = sum(w for _, w in pairs)
    return tuple(item for item, w in pairs for _ in range(max(1, round(w / total * size))))


def _id_partial(digits: str, start: int) -> int:
    return sum(int(c) * _ID_WEIGHTS[start + k] for k, c in enumerate(digits))


@lru_cache(maxsize=1)
def _static_pools() -> dict:
    """Everything that does not depend on the seed, each with its precomputed checksum share."""
    births = [date.fromordinal(o).strftime("%Y%m%d") for o in range(date(1960, 1, 1).toordinal(),
                                                                   date(2004, 12, 31).toordinal() + 1)]
    prefixes = [(p, share / len(ps.split())) for ps, share in _CARRIER_PREFIXES.values() for p in ps.split()]
    labels = [(label, w / len(labels)) for _, w, labels in _CATEGORIES for label in labels]
    return {
        "phone": _table(prefixes),
        "region": tuple((r, _id_partial(r, 0)) for r in _ID_REGIONS),
        "birth": tuple((b, _id_partial(b, 6)) for b in births),
        "seq": tuple(_id_partial(f"{n:03d}", 14) for n in range(1000)),
        "tac": tuple((t, _luhn_sum(t, 6)) for t in _TACS),
        "bin": tuple((b, n - 7, _luhn_sum(b, n - 7)) for b, n in _CARD_BINS),
        "luhn_odd": tuple(_DOUBLE[n % 10] + n // 10 % 10 + _DOUBLE[n // 100] for n in range(1000)),
        "luhn_even": tuple(n % 10 + _DOUBLE[n // 10 % 10] + n // 100 for n in range(1000)),
        "category": _table(labels),
        "confidence": _table([(c, 7) for c in "0.5 0.6 0.7 0.75 0.8 0.85 0.9 0.95 1.0 1".split()]
                             + [("高", 15), ("中", 10), ("低", 5)]),
        "tlp": _table([("AMBER", 80), ("GREEN", 15), ("RED", 5)]),
        "times": tuple(f" {m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)),
    }


def _identifiers(rng: random.Random):
    """Closures generating fresh, valid identifiers (the per-row hot path: table lookups only)."""
    p = _static_pools()
    rnd, bits = rng.random, rng.getrandbits
    phones, regions, births, seqs = p["phone"], p["region"], p["birth"], p["seq"]
    tacs, bins, odd, even = p["tac"], p["bin"], p["luhn_odd"], p["luhn_even"]

    def phone() -> str:
        return f"{phones[int(rnd() * len(phones))]}{int(rnd() * 1e8):08d}"

    def resident_id() -> str:
        (region, rs), (birth, bs) = regions[int(rnd() * len(regions))], births[int(rnd() * len(births))]
        seq = int(rnd() * 1000)  # the last digit of the sequence encodes the sex
        return f"{region}{birth}{seq:03d}{_ID_CHECK[(rs + bs + seqs[seq]) % 11]}"

    def imei() -> str:
        (tac, ts), hi, lo = tacs[int(rnd() * len(tacs))], int(rnd() * 1000), int(rnd() * 1000)
        return f"{tac}{hi:03d}{lo:03d}{(10 - (ts + even[hi] + odd[lo]) % 10) % 10}"

    def oaid() -> str:
        h = f"{bits(128) | 1:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def device() -> str:
        return imei() if rnd() < 0.75 else oaid()

    def card() -> str:
        bin_, n, s = bins[int(rnd() * len(bins))]
        a, b, c, d = int(rnd() * 1000), int(rnd() * 1000), int(rnd() * 1000), int(rnd() * 1000)
        if n == 9:  # 16-digit card: 6 BIN + 9 random + check
            return f"{bin_}{b:03d}{c:03d}{d:03d}{(10 - (s + odd[b] + even[c] + odd[d]) % 10) % 10}"
        return f"{bin_}{a:03d}{b:03d}{c:03d}{d:03d}{(10 - (s + even[a] + odd[b] + even[c] + odd[d]) % 10) % 10}"

    return phone, device, resident_id, card


@dataclass(frozen=True)
class Network:
    """A planted agent network: one named agent operating a pool of identifiers."""

    index: int
    name: str  # 深圳鑫鼎财务咨询中介
    short_name: str  # 鑫鼎中介: some firms write the short form
    category: str
    labels: tuple[str, ...]  # category labels its leads are filed under
    phones: tuple[str, ...]
    devices: tuple[str, ...]
    cards: tuple[str, ...]
    label_rate: float  # share of its leads that carry the agent label
    first_day: int  # active from this many days ago, for `span` days
    span: int


SHARED_INFRASTRUCTURE = 0.15  # share of gangs that also use one device or card of the gang before them


def _brand(n: int) -> str:
    j = n * 97 % 1024  # a permutation of 0..1023: distinct, well-mixed two-character brands
    return _BRAND_1[j % 32] + _BRAND_2[j // 32]


def network(seed: int, index: int) -> Network:
    """Network ``index`` of the alliance seeded ``seed``: the same for every member and batch size.

    Names carry a seed tag (two characters, distinct for seeds that differ modulo 1024) before the brand, so gangs
    of different seeds never share a name; a few gangs borrow one device or bank card of the gang before them
    (a rented mule card, a device-farm IMEI), as real gangs share a little infrastructure."""
    net = _own_network(seed, index)
    rng = random.Random(f"fenghuo-demo-share:{seed}:{index}")
    if index == 0 or rng.random() >= SHARED_INFRASTRUCTURE:
        return net
    lender = _own_network(seed, index - 1)
    if lender.cards and rng.random() < 0.5:
        return replace(net, cards=net.cards + (lender.cards[rng.randrange(len(lender.cards))],))
    return replace(net, devices=net.devices + (lender.devices[rng.randrange(len(lender.devices))],))


def _own_network(seed: int, index: int) -> Network:
    rng = random.Random(f"fenghuo-demo-net:{seed}:{index}")
    kind, _, suffixes, short, n_phone, n_dev, n_card, related = _KIND_TABLE[rng.randrange(len(_KIND_TABLE))]
    phone, device, _, card = _identifiers(rng)
    brand, tag = _brand(index), _brand(seed % 1024 + 512)
    span = rng.randint(30, 360)
    return Network(
        index, f"{rng.choice(_CITIES)}{tag}{brand}{rng.choice(suffixes)}", tag + brand + short, kind,
        _LABELS[kind] * 4 + _LABELS[related],
        tuple(phone() for _ in range(rng.randint(*n_phone))),
        tuple(device() for _ in range(rng.randint(*n_dev))),
        tuple(card() for _ in range(rng.randint(*n_card))),
        rng.uniform(0.2, 0.7), rng.randint(span, 720), span)


_KIND_TABLE = _table([(k, k[1]) for k in _NETWORK_KINDS], 100)


def reporters(seed: int, index: int, members: int) -> frozenset[int]:
    """Members that report network ``index``: a home member plus each other one with probability 0.35."""
    rng = random.Random(f"fenghuo-demo-rep:{seed}:{index}")
    return frozenset({index % members} | {m for m in range(members) if rng.random() < 0.35})


def network_count(rows: int, members: int = 1) -> int:
    """Planted networks in the alliance: about one per 400 rows of a batch, at most 1000 (distinct names)."""
    return min(1000, max(3, 2 * members, rows // 400))


@dataclass
class GenerationStats:
    """What one batch contains, filled while it streams."""

    rows: int = 0  # data rows written (dirty ones included, header excluded)
    dirty_rows: int = 0
    dirty_by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DIRTY_KINDS, 0))
    planted_networks: int = 0  # networks this member's batch reports on
    network_rows: int = 0  # rows that belong to a planted network
    elapsed_s: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.elapsed_s if self.elapsed_s else 0.0


def _dates(today: date):
    """Per day in the past two years (yesterday first): ISO, 2024/5/3 and 2024年5月3日 forms."""
    days = [today - timedelta(days=n) for n in range(1, 731)]
    return tuple((d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}年{d.month}月{d.day}日") for d in days)


def _dirty(kind: str, row: dict, rng: random.Random, today: date, fresh, recent: list[dict], n_clean: int) -> dict:
    """Spoil ``row`` the way real batches are spoiled (``fresh``: phone and resident-ID generators)."""
    if kind == "duplicate":  # an exact copy of a recent clean row, 编号 included
        row = dict(recent[(n_clean - 1 - rng.randrange(min(n_clean, len(recent)))) % len(recent)])
    elif kind == "mangled_phone":  # Excel turned the number into a float and lost digits
        digits = "".join(filter(str.isdigit, row["手机号"]))[-11:] or fresh[0]()
        mantissa, exp = f"{int(digits):.5E}".split("E")
        row["手机号"] = f"{mantissa.rstrip('0').rstrip('.')}E{exp}"
    elif kind == "bad_id_check":
        good = row["身份证号"] or fresh[1]()
        row["身份证号"] = good[:17] + rng.choice(_ID_CHECK.replace(good[17].upper(), ""))
    elif kind == "unknown_category":
        row["黑产类型"] = "其他"
    elif kind == "future_date":
        row["发现时间"] = (today + timedelta(days=rng.randint(1, 180))).isoformat()
    elif kind == "blank":
        row = dict.fromkeys(COLUMNS, "")
    return row


def _check_args(rows: int, members: int, member: int, dirty_ratio: float) -> None:
    if rows < 0 or members < 1 or not 0 <= member < members or not 0.0 <= dirty_ratio <= 1.0:
        raise ValueError("need rows >= 0, members >= 1, 0 <= member < members and 0 <= dirty_ratio <= 1")


def _iter_rows(rows, seed, members, member, dirty_ratio, today: date,
               stats: GenerationStats) -> Iterator[tuple[dict, str]]:
    """Rows with the name of the planted gang each belongs to ("" for an independent actor or a spoiled row)."""
    rng = random.Random(f"fenghuo-demo:{seed}:{member}")
    rnd = rng.random
    phone, device, resident_id, card = _identifiers(rng)
    pools = _static_pools()
    cats, confs, tlps, times = pools["category"], pools["confidence"], pools["tlp"], pools["times"]
    days = _dates(today)
    nets = [network(seed, i) for i in range(network_count(rows, members)) if member in reporters(seed, i, members)]
    stats.planted_networks = len(nets)
    net_table = _table([(n, len(n.phones) + 4 * len(n.devices)) for n in nets], 2000) if nets else ()
    recent: list[dict] = [{}] * 32  # ring of recent clean rows, for duplicates and recurring identifiers
    n_clean = 0
    for i in range(rows):
        if nets and rnd() < _NETWORK_SHARE:  # a lead filed on a planted network: reuse its pool
            net = net_table[int(rnd() * len(net_table))]
            gang = net.name
            stats.network_rows += 1
            ph = net.phones[int(rnd() * len(net.phones))] if rnd() < 0.92 else ""
            dev = net.devices[int(rnd() * len(net.devices))] if rnd() < 0.85 else ""
            if net.cards and rnd() < 0.6:
                crd = net.cards[int(rnd() * len(net.cards))]
            else:
                crd = card() if rnd() < 0.2 else ""
            cat = net.labels[int(rnd() * len(net.labels))]
            agent = "" if rnd() >= net.label_rate else (net.short_name if rnd() < 0.25 else net.name)
            day = days[net.first_day - 1 - int(rnd() * net.span)]
        else:  # an independent actor with fresh identifiers
            gang = ""
            ph = phone() if rnd() < 0.96 else ""
            dev = device() if rnd() < 0.65 else ""
            crd = card() if rnd() < 0.35 else ""
            cat, agent = cats[int(rnd() * len(cats))], ""
            day = days[int(730 * rnd() ** 1.5)]  # recent days more likely
            if rnd() < 0.004:  # a few identifiers recur across unrelated rows
                ph = recent[int(rnd() * 32)].get("手机号") or ph
        if not (ph or dev):
            ph = phone()
        r = rnd()
        if r < 0.02:  # formats a fraud analyst's spreadsheet naturally contains
            ph = ph and (f"+86 {ph[:3]} {ph[3:7]} {ph[7:]}" if r < 0.01 else f"{ph[:3]}-{ph[3:7]}-{ph[7:]}")
        pid = resident_id() if rnd() < 0.62 else ""
        if pid.endswith("X") and rnd() < 0.3:
            pid = pid[:-1] + "x"
        r = rnd()  # date formats: 2024-05-03, 2024/5/3, 2024年5月3日, 2024-05-03 14:22
        when = day[0] if r < 0.4 else day[1] if r < 0.65 else day[2] if r < 0.8 else day[0] + times[int(rnd() * 1440)]
        row = {"编号": f"M{member + 1:02d}-{seed}-{i + 1:07d}", "黑产类型": cat, "手机号": ph, "设备号": dev,
               "身份证号": pid, "银行卡号": crd, "发现时间": when, "中介/团伙": agent,
               "置信度": confs[int(rnd() * len(confs))], "TLP": tlps[int(rnd() * len(tlps))],
               "备注": _NOTES[int(rnd() * len(_NOTES))]}
        if dirty_ratio and rnd() < dirty_ratio:
            kind = DIRTY_KINDS[int(rnd() * len(DIRTY_KINDS))]
            if kind == "duplicate" and not n_clean:
                kind = "future_date"
            row = _dirty(kind, row, rng, today, (phone, resident_id), recent, n_clean)
            gang = gang if kind in ("unknown_category", "future_date", "mangled_phone", "bad_id_check") else ""
            stats.dirty_rows += 1
            stats.dirty_by_kind[kind] += 1
        else:
            recent[n_clean % 32] = row
            n_clean += 1
        stats.rows += 1
        yield row, gang


def iter_rows(rows: int, seed: int = 7, *, members: int = 1, member: int = 0, dirty_ratio: float = 0.02,
              today: date | None = None, stats: GenerationStats | None = None) -> Iterator[dict[str, str]]:
    """Yield ``rows`` lead rows (dicts keyed by ``COLUMNS``) of member ``member`` of a ``members``-firm alliance.

    ``today`` anchors the dates (default: the real today); pass ``stats`` to have it filled while iterating.
    """
    _check_args(rows, members, member, dirty_ratio)
    rows_iter = _iter_rows(rows, seed, members, member, dirty_ratio, today or date.today(), stats or GenerationStats())
    return (row for row, _ in rows_iter)


def truth_path(out: Path | str) -> Path:
    """Where `generate` writes a batch's ground truth: `leads.csv` → `leads.truth.csv` (never uploaded)."""
    out = Path(out)
    return out.with_name(out.stem + ".truth.csv")


def generate(out: Path | str | TextIO, rows: int, *, seed: int = 7, members: int = 1, member: int = 0,
             fmt: str = "csv", dirty_ratio: float = 0.02, today: date | None = None,
             truth: Path | str | None = None) -> GenerationStats:
    """Stream a lead batch as CSV, UTF-8 with BOM and CRLF (as Excel on Chinese Windows saves it).

    Same arguments (and ``today``) → byte-identical output. A text stream gets a U+FEFF first
    unless it encodes as ``utf-8-sig`` itself. With ``truth``, also write the ground truth there: one line per
    row, `编号,gang` (the planted gang's name, empty for independent actors) — for benchmarks, never uploaded.
    """
    if fmt != "csv":
        raise ValueError(f"unsupported format {fmt!r}: only 'csv'")
    _check_args(rows, members, member, dirty_ratio)
    stats, started = GenerationStats(), time.perf_counter()
    rows_iter = _iter_rows(rows, seed, members, member, dirty_ratio, today or date.today(), stats)

    truth_fh = open(truth, "w", encoding="utf-8", newline="", buffering=1 << 20) if truth is not None else None

    def write(fh: TextIO) -> None:
        writer = csv.writer(fh)  # CRLF line ends, quoting only where needed, like Excel
        writer.writerow(COLUMNS)
        if truth_fh is None:
            writer.writerows(row.values() for row, _ in rows_iter)
            return
        truth_writer = csv.writer(truth_fh)
        truth_writer.writerow(("编号", "gang"))
        for row, gang in rows_iter:
            writer.writerow(row.values())
            truth_writer.writerow((row["编号"], gang))

    if isinstance(out, (str, Path)):
        with open(out, "w", encoding="utf-8-sig", newline="", buffering=1 << 20) as fh:
            write(fh)
    else:
        if (getattr(out, "encoding", None) or "").lower().replace("_", "-") != "utf-8-sig":
            out.write("\ufeff")
        write(out)
    if truth_fh is not None:
        truth_fh.close()
    stats.elapsed_s = time.perf_counter() - started
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ingest.demo", description="Write a synthetic lead batch CSV.")
    ap.add_argument("out", type=Path)
    for flag, kind, default in (("--rows", int, 10_000), ("--seed", int, 7), ("--members", int, 1),
                                ("--member", int, 0), ("--dirty-ratio", float, 0.02)):
        ap.add_argument(flag, type=kind, default=default)
    a = ap.parse_args(argv)
    s = generate(a.out, a.rows, seed=a.seed, members=a.members, member=a.member, dirty_ratio=a.dirty_ratio)
    print(f"{s.rows} rows ({s.dirty_rows} dirty, {s.network_rows} in {s.planted_networks} planted networks) "
          f"in {s.elapsed_s:.2f}s = {s.rows_per_s:,.0f} rows/s → {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
