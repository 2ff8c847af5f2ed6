"""Who is asking (a value type every layer may use): the authenticated principal behind every request, with its member, roles and jurisdictions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    ANALYST = "analyst"  # checks identifiers
    UPLOADER = "uploader"  # submits and uploads leads
    POLICE_LIAISON = "police_liaison"  # bound to jurisdictions; sees only what is escalated there
    OPERATOR = "operator"  # administers the hub; sees everything, audited like everyone
    PEER = "peer"  # another Fenghuo node


class Tlp(str, Enum):
    """Traffic Light Protocol of a lead: who beyond the filer may see it."""

    RED = "RED"  # only the filing member and operators
    AMBER = "AMBER"  # all members
    GREEN = "GREEN"  # members and peers
    CLEAR = "CLEAR"  # members and peers


MEMBER_TLPS = (Tlp.AMBER.value, Tlp.GREEN.value, Tlp.CLEAR.value)
PEER_TLPS = (Tlp.GREEN.value, Tlp.CLEAR.value)


@dataclass(frozen=True)
class Principal:
    id: str  # "key:<prefix>" for API keys, "cli:<user>" for the admin command line
    member_code: str
    roles: frozenset[Role]
    jurisdictions: frozenset[str] = frozenset()
    name: str = ""
    # A peer node of the same alliance (federation, issue 12) sees AMBER like a member; other peers GREEN/CLEAR.
    alliance_peer: bool = False

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_operator(self) -> bool:
        return Role.OPERATOR in self.roles

    @property
    def is_member_user(self) -> bool:
        """Analysts and uploaders act for their member firm and see the alliance's AMBER+ intelligence."""
        return self.has(Role.ANALYST, Role.UPLOADER)

    @property
    def shared_tlps(self) -> tuple[str, ...]:
        """TLPs of other members' leads this principal may see (its own member's leads are always visible)."""
        if self.is_operator:
            return tuple(t.value for t in Tlp)
        if self.is_member_user:
            return MEMBER_TLPS
        if Role.PEER in self.roles:
            return MEMBER_TLPS if self.alliance_peer else PEER_TLPS
        return ()


def cli_principal(user: str) -> Principal:
    """The operator at the admin command line, acting directly on the configured Neo4j."""
    return Principal(id=f"cli:{user}", member_code="HUB", roles=frozenset({Role.OPERATOR}), name=user)
