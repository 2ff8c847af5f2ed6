"""The fourteen lead categories (DESIGN.md §2) and how a fraud team's wording resolves to one.

Scoring constants, per category:

- ``severity`` (0–1): how much one lead of this category should weigh in a verdict. Highest where the
  identifier is itself an instrument of crime against consumers (fake police, money-mule cards, fake
  customer service, fake loan apps); lowest where the harm is to promotions or complaint desks.
- ``lifetime_days`` (τ of the decay ``1 − (t/τ)^(1/δ)``): how long a lead stays informative. Short (180 d)
  where identifiers churn fast — device farms swap SIMs and devices, fake-loan-app domains rotate,
  promotion abusers recycle accounts; long (730 d) for identity theft, money mules and impersonation
  gangs, whose cards, ID numbers and phones are reused for years; one year for everything else.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping


@dataclass(frozen=True)
class Category:
    code: str
    label: str  # 中文 label, as members and police read it
    aliases: tuple[str, ...]
    severity: float
    lifetime_days: int


CATEGORIES: tuple[Category, ...] = (
    Category("LOAN_INTERMEDIARY", "贷款中介", ("中介", "非法贷款中介", "助贷中介", "中介代办"), 0.6, 365),
    Category("APPLICATION_FRAUD", "资料包装", ("信息包装", "伪造资料", "包装资料"), 0.75, 365),
    Category("REMOTE_ASSISTED", "远程助贷", ("远程操控", "远程代办"), 0.7, 365),
    Category("IDENTITY_THEFT", "身份冒用", ("盗用身份", "冒名贷款"), 0.85, 730),
    Category(
        "ANTI_COLLECTION", "反催收", ("代理维权", "非法代理维权", "债务重组", "协商还款", "反催收联盟"), 0.5, 365
    ),
    Category("CREDIT_REPAIR_SCAM", "征信修复", ("征信洗白",), 0.55, 365),
    Category("IMPERSONATE_AUTHORITY", "冒充公检法", ("冒充警察", "冒充监管"), 0.95, 730),
    Category("IMPERSONATE_SUPPORT", "冒充客服", ("假客服", "注销校园贷"), 0.9, 365),
    Category("MONEY_MULE", "跑分洗钱", ("跑分", "洗钱", "两卡", "出租出借银行卡"), 0.9, 730),
    Category("DEVICE_FARM", "设备农场", ("猫池", "卡池", "群控", "改机", "接码平台"), 0.8, 180),
    Category("MALICIOUS_COMPLAINT", "恶意投诉", ("职业投诉",), 0.4, 365),
    Category("SURRENDER_AGENT", "代理退保", ("退保中介",), 0.45, 365),
    Category("PROMOTION_ABUSE", "羊毛党", ("薅羊毛",), 0.3, 180),
    Category("FAKE_LOAN_APP", "虚假贷款", ("虚假网贷", "虚假网络贷款"), 0.85, 180),
)

BY_CODE: Mapping[str, Category] = {c.code: c for c in CATEGORIES}

# Separators people put inside codes ("Loan-Intermediary", "loan intermediary") carry no meaning.
_NOISE = re.compile(r"[\s_\-·・.]+")


@lru_cache(maxsize=1024)
def category_key(text: str) -> str:
    """The form two spellings of one category share: NFKC, case-folded, without spaces or separators."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _builtin_index() -> dict[str, Category]:
    index: dict[str, Category] = {}
    for category in CATEGORIES:
        for name in (category.code, category.label, *category.aliases):
            index[category_key(name)] = category
    return index


_INDEX = _builtin_index()


def resolve_category(text: object, extra_aliases: Mapping[str, str] = {}) -> Category | None:
    """The category `text` names (by code, label or alias), or None.

    `extra_aliases` maps an operator-added alias to a category code or label. Built-in names win over
    extra aliases, so an operator cannot silently re-point 中介 to another category; an extra alias
    whose target is not a category is ignored.
    """
    if not isinstance(text, str):
        return None
    key = category_key(text)
    if not key:
        return None
    found = _INDEX.get(key)
    if found is not None:
        return found
    for alias, target in extra_aliases.items():
        if category_key(alias) == key:
            return _INDEX.get(category_key(target))
    return None


def accepted_categories_text() -> str:
    """The accepted codes and labels, one phrase, for error messages."""
    return "; ".join(f"{c.code} ({c.label})" for c in CATEGORIES)
