"""PF_RING's hardware rules and filtering mode as Python values
(``Ring.add_hw_rule``, ``Ring.remove_hw_rule``, ``Ring.set_filtering_mode``).

:class:`HwRule` reads like PF_RING's ``hw_filtering_rule``: an Intel 82599
five-tuple or perfect filter with the family's fields flattened into the
rule.  Addresses are IPv4 strings, ports ints, zero and ``None`` mean "any";
``queue_id`` is the RX queue a match goes to, :data:`DROP` (0xFFFF, PF_RING's
-1) drops it in the NIC::

    HwRule(rule_id=1, proto=17, dhost="10.0.0.1", dport=53, queue_id=DROP)

The rule goes to the NIC through ethtool's n-tuple interface; what the
fields mean, the checks (ports without TCP, UDP or SCTP, a queue the device
does not have, a device without n-tuple filters, which names it) and the
mode's rules are libpfring's (``pfring_add_hw_rule``, libpfring/README.md);
this module only writes the struct, and :meth:`HwRule.to_c` is that one step.
"""
from __future__ import annotations

import dataclasses
import enum
import ipaddress
from typing import Optional

from ._ffi import ffi, lib
from .rules import _int, _invalid

__all__ = ["DROP", "MAX_HW_RULES", "FilteringMode", "HwRule", "HwRuleType"]

DROP: int = lib.PFRING_HW_RULE_DROP_QUEUE
MAX_HW_RULES: int = lib.PFRING_MAX_HW_FILTERING_RULES


class FilteringMode(enum.IntEnum):
    """``filtering_mode``: where a ring's rules are meant to run."""
    HARDWARE_AND_SOFTWARE = lib.hardware_and_software
    HARDWARE_ONLY = lib.hardware_only
    SOFTWARE_ONLY = lib.software_only


class HwRuleType(enum.IntEnum):
    """``hw_filtering_rule_type`` (the Silicom redirector is not driven)."""
    FIVE_TUPLE = lib.intel_82599_five_tuple_rule
    PERFECT = lib.intel_82599_perfect_filter_rule


def _ipv4(value: Optional[str], name: str) -> int:
    """An IPv4 address string as the host-order int the struct holds (None: 0)."""
    if value is None:
        return 0
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str such as '10.0.0.1', not {type(value).__name__}")
    try:
        return int(ipaddress.IPv4Address(value))
    except ValueError:
        raise _invalid(f"{name} {value!r} is not an IPv4 address "
                       "(hardware rules are IPv4 only)") from None


@dataclasses.dataclass
class HwRule:
    """A hardware rule (``hw_filtering_rule``).  ``rule_type``
    :attr:`HwRuleType.FIVE_TUPLE` or :attr:`HwRuleType.PERFECT` (which also
    takes ``vlan_id``); ``rule_id`` is the rule's location in the NIC's
    table; ``queue_id`` the RX queue of a match, or :data:`DROP`."""
    rule_id: int
    rule_type: HwRuleType = HwRuleType.FIVE_TUPLE
    proto: int = 0
    shost: Optional[str] = None
    dhost: Optional[str] = None
    sport: int = 0
    dport: int = 0
    queue_id: int = DROP
    vlan_id: int = 0

    def to_c(self):
        """The ``hw_filtering_rule *`` (cffi, owned by the result) for this rule."""
        r = ffi.new("hw_filtering_rule *")
        r.rule_id = _int(self.rule_id, "rule_id", 0xFFFF)
        kind = self.rule_type
        if not isinstance(kind, int) or isinstance(kind, bool):
            raise TypeError(f"rule_type must be a HwRuleType, not {type(kind).__name__}")
        r.rule_family_type = int(kind)
        if kind == HwRuleType.PERFECT:
            f = r.rule_family.perfect_rule
            f.vlan_id = _int(self.vlan_id, "vlan_id", 0xFFFF)
        else:
            if self.vlan_id:
                raise _invalid(f"vlan_id {self.vlan_id}: only a perfect filter rule "
                               "(HwRuleType.PERFECT) matches a VLAN")
            f = r.rule_family.five_tuple_rule
        f.proto = _int(self.proto, "proto", 0xFF)
        f.s_addr = _ipv4(self.shost, "shost")
        f.d_addr = _ipv4(self.dhost, "dhost")
        f.s_port = _int(self.sport, "sport", 0xFFFF)
        f.d_port = _int(self.dport, "dport", 0xFFFF)
        f.queue_id = _int(self.queue_id, "queue_id", 0xFFFF)
        return r
