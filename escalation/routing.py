"""Which jurisdiction a case goes to, and by which rule: the member's choice, else the main phone's geocoded city,
else the resident ID's region code, else the member's home jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import BadInput
from escalation import jurisdictions
from escalation.jurisdictions import Jurisdiction
from escalation.models import RoutingRule


@dataclass(frozen=True)
class Routing:
    jurisdiction: Jurisdiction
    rule: RoutingRule
    basis: str  # what the rule read, in words a liaison understands (never a raw identifier)


def route(*, explicit: str | None, main_phone_region: str | None, id_region_code: str | None,
          home_jurisdiction: str | None) -> Routing:
    if explicit:
        chosen = jurisdictions.get(explicit.strip())
        if chosen is None or chosen.bureau is None:
            raise BadInput(f"jurisdiction {explicit!r} is not a province or prefecture code with a public-security "
                           "bureau; find one with `fenghuo jurisdictions find 深圳` (e.g. 440300 深圳市)",
                           field="jurisdiction")
        return Routing(chosen, RoutingRule.EXPLICIT, f"{chosen.code} {chosen.name}")
    if main_phone_region:
        found = jurisdictions.from_geocode(main_phone_region)
        if found is not None and found.bureau:
            return Routing(found, RoutingRule.PHONE_GEOCODE, main_phone_region)
    if id_region_code:
        found = jurisdictions.from_region_code(id_region_code)
        if found is not None and found.bureau:
            return Routing(found, RoutingRule.ID_REGION, id_region_code)
    if home_jurisdiction:
        found = jurisdictions.get(home_jurisdiction) or jurisdictions.from_region_code(home_jurisdiction)
        if found is not None and found.bureau:
            return Routing(found, RoutingRule.MEMBER_HOME, f"{found.code} {found.name}")
    raise BadInput("the case cannot be routed: no jurisdiction was chosen, no phone with a geocoded city, no resident "
                   "ID and no home jurisdiction on the member; give `jurisdiction` (e.g. 440300)", field="jurisdiction")
