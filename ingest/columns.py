"""Which column of a lead batch holds which field: header aliases (Chinese and English) → canonical fields.

Headers match case-, width- (NFKC) and space-insensitively; a trailing number (手机号1, 手机号_2,
phone (3)) or a bracketed note (置信度(0-100)) does not change a header's meaning, so several columns
may feed one identifier field. A fingerprint or device header prefixed by a vendor (同盾设备指纹,
tongdun_fingerprint) carries that vendor. An explicit mapping ``{"header": "field"}`` — or
``"field:vendor"``, or ``"ignore"`` — overrides the aliases.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Mapping

IDENTIFIER_FIELDS = (
    "phone", "device", "imei", "imeisv", "oaid", "idfa", "ad_id", "device_fingerprint", "android_id",
    "id_number", "bank_card", "ip", "url", "domain", "email", "wechat", "alipay", "qq",
)  # fmt: skip
LEAD_FIELDS = ("category", "observed_at", "agent", "note", "confidence", "tlp", "reference")
IGNORE = "ignore"

_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("手机号", "手机", "手机号码", "电话", "电话号码", "联系电话", "phone", "mobile", "phone_number",
              "mobile_number", "tel", "telephone", "cellphone", "msisdn"),
    "device": ("设备号", "设备", "设备ID", "设备编号", "设备标识", "device", "device_id"),
    "imei": ("IMEI", "IMEI号", "imei_number"),
    "imeisv": ("IMEISV",),
    "oaid": ("OAID",),
    "idfa": ("IDFA",),
    "ad_id": ("广告ID", "广告标识", "ad_id", "advertising_id"),
    "device_fingerprint": ("设备指纹", "指纹", "fingerprint", "device_fingerprint"),
    "android_id": ("安卓ID", "android_id", "androidid"),
    "id_number": ("身份证号", "身份证", "身份证号码", "证件号", "证件号码", "id_number", "id_card", "idcard",
                  "id_no", "resident_id"),
    "bank_card": ("银行卡号", "银行卡", "卡号", "bank_card", "card_no", "card_number", "bank_card_number"),
    "ip": ("IP", "ip地址", "ip_address", "ipv4", "ipv6"),
    "url": ("网址", "URL", "链接", "link"),
    "domain": ("域名", "domain", "domain_name"),
    "email": ("邮箱", "电子邮箱", "邮件", "email", "e_mail", "mail"),
    "wechat": ("微信", "微信号", "wechat", "wechat_id", "weixin", "wx"),
    "alipay": ("支付宝", "支付宝账号", "alipay"),
    "qq": ("QQ", "qq号", "qq号码"),
    "category": ("黑产类型", "类型", "风险类型", "类别", "线索类型", "category", "type"),
    "observed_at": ("发现时间", "时间", "日期", "发现日期", "上报时间", "observed_at", "observed", "date", "time",
                    "first_seen"),
    "agent": ("中介", "团伙", "中介/团伙", "团伙/中介", "中介名称", "团伙名称", "agent", "gang", "agent/gang"),
    "note": ("备注", "说明", "描述", "note", "notes", "remark", "remarks", "description"),
    "confidence": ("置信度", "可信度", "confidence"),
    "tlp": ("tlp", "密级", "共享级别"),
    "reference": ("编号", "参考号", "线索编号", "reference", "ref", "id"),
}  # fmt: skip

# Fingerprint vendors named in headers → the slugs ingest.identifiers.device files fingerprints under.
VENDORS: dict[str, str] = {
    "同盾": "tongdun", "tongdun": "tongdun", "数美": "shumei", "shumei": "shumei", "顶象": "dingxiang",
    "dingxiang": "dingxiang", "网易易盾": "yidun", "易盾": "yidun", "yidun": "yidun", "极验": "geetest",
    "geetest": "geetest", "阿里云": "aliyun", "阿里": "aliyun", "aliyun": "aliyun", "腾讯": "tencent",
    "腾讯云": "tencent", "tencent": "tencent", "百融": "bairong", "bairong": "bairong", "数盟": "shumeng",
    "shumeng": "shumeng", "友盟": "umeng", "umeng": "umeng", "个推": "getui", "getui": "getui", "邦盛": "bangsun",
    "bangsun": "bangsun",
}  # fmt: skip

_NOISE = re.compile(r"[\s_\-.:*#/\\]+")
_BRACKETED = re.compile(r"[(\[【<《].*?[)\]】>》]")
_NUMBERED = re.compile(r"\(?\d{1,3}\)?$")


def header_key(header: str) -> str:
    """The form all spellings of one header share."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", header)).casefold()


_FIELD_BY_KEY = {header_key(alias): name for name, aliases in _ALIASES.items() for alias in aliases}
_FINGERPRINT_SUFFIXES = tuple(header_key(s) for s in ("设备指纹", "指纹", "fingerprint"))
_DEVICE_SUFFIXES = tuple(header_key(s) for s in ("设备号", "设备ID", "设备", "device_id", "device"))


@dataclass(frozen=True)
class Column:
    header: str  # as written in the file
    field: str
    vendor: str | None = None


@dataclass(frozen=True)
class ColumnError:
    message: str
    headers: tuple[str, ...]


@dataclass
class ColumnMap:
    columns: list[Column] = field(default_factory=list)  # mapped columns, in file order
    ignored: list[str] = field(default_factory=list)  # headers with no known meaning
    warnings: list[str] = field(default_factory=list)  # batch-level, shown once
    explicit: Mapping[str, str] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)  # every header seen, mapped or ignored
    _lead: dict[str, Column] = field(default_factory=dict, repr=False)

    @property
    def identifier_columns(self) -> list[Column]:
        return [c for c in self.columns if c.field in IDENTIFIER_FIELDS]

    def lead_column(self, name: str) -> Column | None:
        """The column holding a lead field; when two columns claim one, the first wins (and was warned about)."""
        return self._lead.get(name)

    def knows(self, header: str) -> bool:
        return header in self.known

    def extended(self, headers: Iterable[str]) -> list[str]:
        """Map headers first seen mid-stream (JSON objects need not share keys); returns new warnings."""
        before = len(self.warnings)
        _map_into(self, [h for h in headers if h not in self.known])
        return self.warnings[before:]


def map_header(headers: Iterable[str], explicit: Mapping[str, str] | None = None, *,
               default_category: bool = False) -> ColumnMap | ColumnError:
    """Map a batch's headers to fields, or explain why the batch cannot be read.

    Needs at least one identifier column, and a category column unless the batch has a default category.
    """
    headers = list(headers)
    explicit = dict(explicit or {})
    bad = {h: f for h, f in explicit.items() if _parse_target(f) is None}
    if bad:
        return ColumnError(
            f"explicit mapping names unknown fields ({', '.join(f'{h!s} → {f!s}' for h, f in bad.items())}); "
            f"accepted fields: {', '.join((*IDENTIFIER_FIELDS, *LEAD_FIELDS, IGNORE))}",
            tuple(headers),
        )
    columns = ColumnMap(explicit=explicit)
    _map_into(columns, headers)
    missing = [h for h in explicit if h not in headers and header_key(h) not in {header_key(x) for x in headers}]
    if missing:
        columns.warnings.append(f"explicit mapping names columns not in the file: {', '.join(missing)}")
    if columns.lead_column("category") is None and not default_category:
        return ColumnError(
            f"no category column among the headers ({_listing(headers)}); name it one of "
            f"{', '.join(_ALIASES['category'])}, map a column to 'category' explicitly, or give the batch a "
            "default category",
            tuple(headers),
        )
    if not columns.identifier_columns:
        accepted = ", ".join(f"{_ALIASES[f][0]} ({f})" for f in IDENTIFIER_FIELDS)
        return ColumnError(
            f"no identifier column among the headers ({_listing(headers)}); accepted identifier columns: {accepted}",
            tuple(headers),
        )
    return columns


def _map_into(columns: ColumnMap, headers: list[str]) -> None:
    unknown: list[str] = []
    for header in headers:
        columns.known.add(header)
        target = _explicit_target(columns.explicit, header) or _alias_target(header, columns.warnings)
        if target is None:
            unknown.append(header)
        elif target.field == IGNORE:
            columns.ignored.append(header)
        elif target.field in LEAD_FIELDS and (first := columns.lead_column(target.field)) is not None:
            columns.ignored.append(header)
            columns.warnings.append(
                f"columns {first.header} and {header} both hold {target.field}; using {first.header}, ignoring {header}"
            )
        else:
            column = Column(header, target.field, target.vendor)
            columns.columns.append(column)
            if column.field in LEAD_FIELDS:
                columns._lead[column.field] = column
    if unknown:
        columns.ignored.extend(unknown)
        columns.warnings.append(f"ignored columns with no known meaning: {_listing(unknown)}")


def _parse_target(text: str | None) -> Column | None:
    name, _, vendor = (text or IGNORE).partition(":")
    name = name.strip()
    if name not in IDENTIFIER_FIELDS and name not in LEAD_FIELDS and name != IGNORE:
        return None
    return Column("", name, vendor.strip() or None)


def _explicit_target(explicit: Mapping[str, str], header: str) -> Column | None:
    if header in explicit:
        return _parse_target(explicit[header])
    key = header_key(header)
    for name, target in explicit.items():
        if header_key(name) == key:
            return _parse_target(target)
    return None


def _alias_target(header: str, warnings: list[str]) -> Column | None:
    key = header_key(header)
    unbracketed = _BRACKETED.sub("", key)
    for candidate in dict.fromkeys((key, unbracketed, _unnumbered(key), _unnumbered(unbracketed))):
        if candidate in _FIELD_BY_KEY:
            return Column(header, _FIELD_BY_KEY[candidate])
        vendored = _vendor_target(header, candidate, warnings)
        if vendored is not None:
            return vendored
    return None


def _unnumbered(key: str) -> str:
    stripped = _NUMBERED.sub("", key)
    return stripped or key


def _vendor_target(header: str, key: str, warnings: list[str]) -> Column | None:
    for suffix in _FINGERPRINT_SUFFIXES:
        prefix = key[: -len(suffix)]
        if key.endswith(suffix) and prefix:
            vendor = VENDORS.get(prefix.removesuffix("device"))
            if vendor is None:
                vendor = prefix
                warnings.append(
                    f"column {header}: fingerprint vendor '{prefix}' is not a known vendor; "
                    f"its fingerprints match only fingerprints filed under the same vendor name"
                )
            return Column(header, "device_fingerprint", vendor)
    for suffix in _DEVICE_SUFFIXES:
        prefix = key[: -len(suffix)]
        if key.endswith(suffix) and prefix in VENDORS:
            return Column(header, "device", VENDORS[prefix])
    return None


def _listing(headers: Iterable[str]) -> str:
    return ", ".join(str(h) for h in headers) or "none"
