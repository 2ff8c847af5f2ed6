"""Benign service numbers (like MISP warninglists): emergency lines and national bank/telecom/payment hotlines."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Mapping


@functools.cache
def service_numbers() -> Mapping[str, str]:
    """number → label, read once from data/service_numbers.tsv (lines starting with # are comments)."""
    text = resources.files(__package__).joinpath("data/service_numbers.tsv").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        number, label = line.split("\t", 1)
        table[number.strip()] = label.strip()
    return table


def service_number_label(digits: str) -> str | None:
    """The label of a known emergency/service number, or None when `digits` is not one."""
    return service_numbers().get(digits)
