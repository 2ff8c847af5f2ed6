"""Jurisdictions: every GB/T 2260 prefecture is known, each with the name of its public-security organ."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from escalation import jurisdictions

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "gbt2260_prefecture.csv"
REFERENCE_ALT = Path("/work/shared/reference/gbt2260_prefecture.csv")


@pytest.mark.parametrize("code, name, bureau", [
    ("440300", "深圳市", "深圳市公安局"),
    ("110000", "北京市", "北京市公安局"),
    ("500000", "重庆市", "重庆市公安局"),
    ("440000", "广东省", "广东省公安厅"),
    ("450000", "广西壮族自治区", "广西壮族自治区公安厅"),
    ("652900", "阿克苏地区", "阿克苏地区公安处"),
    ("222400", "延边朝鲜族自治州", "延边朝鲜族自治州公安局"),
    ("420600", "襄阳市", "襄阳市公安局"),
    ("152200", "兴安盟", "兴安盟公安处"),
])
def test_each_division_has_its_code_name_and_bureau(code: str, name: str, bureau: str) -> None:
    found = jurisdictions.get(code)
    assert found is not None and (found.name, found.bureau) == (name, bureau)


def test_municipal_districts_and_pseudo_regions_are_not_separate_jurisdictions() -> None:
    assert jurisdictions.get("110100") is None and jurisdictions.get("990000") is None
    assert jurisdictions.get("110000").level == "province"


def test_find_matches_names_old_names_codes_and_bureaus() -> None:
    assert [j.code for j in jurisdictions.find("深圳")] == ["440300"]
    assert [j.code for j in jurisdictions.find("襄樊")] == ["420600"]
    assert "650000" in [j.code for j in jurisdictions.find("6500")]
    assert all(j.bureau.endswith("公安处") for j in jurisdictions.find("公安处"))
    assert jurisdictions.find("  ") == []


def test_a_province_liaison_covers_its_prefectures_cases() -> None:
    assert jurisdictions.covering_codes("440300") == ["440000", "440300"]
    assert jurisdictions.covering_codes("110000") == ["110000"]


@pytest.mark.skipif(not (REFERENCE.exists() or REFERENCE_ALT.exists()),
                    reason="the Ministry of Civil Affairs reference list is kept outside the project")
def test_every_prefecture_of_the_ministry_reference_list_is_a_known_jurisdiction() -> None:
    path = REFERENCE if REFERENCE.exists() else REFERENCE_ALT
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) > 300
    unknown = [(r["code"], r["name"]) for r in rows if (jurisdictions.get(r["code"]) or None) is None]
    renamed = [(r["code"], r["name"], jurisdictions.get(r["code"]).name) for r in rows
               if jurisdictions.get(r["code"]) and jurisdictions.get(r["code"]).name != r["name"]]
    assert unknown == [] and renamed == []


def test_the_cli_finds_jurisdictions_and_says_when_nothing_matches() -> None:
    from typer.testing import CliRunner

    from api.cli import app

    found = CliRunner().invoke(app, ["jurisdictions", "find", "深圳"])
    assert found.exit_code == 0 and "440300" in found.output and "深圳市公安局" in found.output
    missing = CliRunner().invoke(app, ["jurisdictions", "find", "不存在的地方"])
    assert missing.exit_code == 1
