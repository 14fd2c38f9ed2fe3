"""PF_RING's filtering rules as Python values (``Ring.add_rule`` and friends).

:class:`Rule` reads like PF_RING's ``filtering_rule``: the same field names,
with the ``core_fields`` flattened into the rule.  Addresses are strings,
port ranges are ``(low, high)`` tuples (or one port), the action is a
:class:`RuleAction`.  Zero and ``None`` mean "any", as in PF_RING::

    Rule(rule_id=10, rule_action=RuleAction.DONT_FORWARD_AND_STOP,
         proto=17, shost="10.0.0.0/8", dport=(5000, 5999), bidirectional=True)

What a rule means, the checks (a contiguous mask, a range that is not
inverted, a free rule id, the limit of rules) and the order in which rules
run are libpfring's (``pfring_add_filtering_rule``, libpfring/README.md);
this module only writes the struct, and :meth:`Rule.to_c` is that one step.
"""
from __future__ import annotations

import dataclasses
import enum
import ipaddress
from typing import NamedTuple, Optional, Tuple, Union

from ._ffi import ffi, lib
from .errors import make_error

__all__ = ["AUTO_RULE_ID", "MAX_HASH_RULES", "MAX_PATTERN_LEN", "MAX_RULES", "HashRule",
           "HashRuleStats", "ReflectionStats", "Rule", "RuleAction", "RuleStats"]

AUTO_RULE_ID: int = lib.FILTERING_RULE_AUTO_RULE_ID
MAX_RULES: int = lib.PFRING_MAX_FILTERING_RULES
MAX_HASH_RULES: int = lib.PFRING_MAX_HASH_FILTERING_RULES
#: The longest payload_pattern (the struct's 32 bytes hold the NUL too).
MAX_PATTERN_LEN: int = 31

PortRange = Union[int, Tuple[int, int], None]


class RuleAction(enum.IntEnum):
    """``rule_action_behaviour``."""
    FORWARD_AND_STOP = lib.forward_packet_and_stop_rule_evaluation
    DONT_FORWARD_AND_STOP = lib.dont_forward_packet_and_stop_rule_evaluation
    EXECUTE_AND_CONTINUE = lib.execute_action_and_continue_rule_evaluation
    EXECUTE_AND_STOP = lib.execute_action_and_stop_rule_evaluation
    FORWARD_ADD_RULE_AND_STOP = lib.forward_packet_add_rule_and_stop_rule_evaluation
    REFLECT_AND_STOP = lib.reflect_packet_and_stop_rule_evaluation
    REFLECT_AND_CONTINUE = lib.reflect_packet_and_continue_rule_evaluation
    BOUNCE_AND_STOP = lib.bounce_packet_and_stop_rule_evaluation
    BOUNCE_AND_CONTINUE = lib.bounce_packet_and_continue_rule_evaluation
    FORWARD_DEL_RULE_AND_STOP = lib.forward_packet_del_rule_and_stop_rule_evaluation


class ReflectionStats(NamedTuple):
    """``pfring_get_reflection_stats``: the copies reflect and bounce rules
    sent, and those the kernel refused (the device down or gone)."""
    sent: int
    failed: int


@dataclasses.dataclass(frozen=True)
class RuleStats:
    """``filtering_rule_stats``: what matched a rule so far.
    ``hash_rules_added``/``hash_rules_refused``: for
    :attr:`RuleAction.FORWARD_ADD_RULE_AND_STOP`, the hash rules the rule
    added in the kernel and the flows it could not add (the ring held
    :data:`MAX_HASH_RULES` hash rules already).  ``hash_rules_deleted``:
    for :attr:`RuleAction.FORWARD_DEL_RULE_AND_STOP`, the hash rules the
    rule removed."""
    match: int
    filtered: int
    match_forward: int
    inactivity: int
    match_bytes: int
    last_match_ns: int
    hash_rules_added: int = 0
    hash_rules_refused: int = 0
    hash_rules_deleted: int = 0


def _invalid(message: str) -> Exception:
    return make_error(lib.PF_RING_ERROR_INVALID_ARGUMENT, message)


def _int(value, name: str, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= hi:
        raise _invalid(f"{name} {value} is out of range (0..{hi})")
    return value


def _mac(value: Optional[str], name: str) -> bytes:
    if value is None:
        return bytes(6)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str such as '02:00:00:00:00:01', "
                        f"not {type(value).__name__}")
    parts = value.split(":")
    try:
        if len(parts) != 6 or any(len(p) not in (1, 2) for p in parts):
            raise ValueError
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise _invalid(f"{name} {value!r} is not a MAC address") from None


def _addr(value: Optional[str], name: str):
    """An address string: None, or (ip_address, prefix length or None)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    text, _, plen = value.partition("/")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise _invalid(f"{name} {value!r} is not an IPv4 or IPv6 address") from None
    if not plen:
        return addr, None
    if not plen.isdigit() or int(plen) > addr.max_prefixlen:
        raise _invalid(f"{name} {value!r} has a bad prefix length")
    return addr, int(plen)


def _prefix_mask(version: int, plen: int):
    bits = 32 if version == 4 else 128
    value = ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


def _ports(value: PortRange, name: str) -> Tuple[int, int]:
    if value is None:
        return 0, 0
    if isinstance(value, int) and not isinstance(value, bool):
        _int(value, name, 0xFFFF)
        return value, value
    if isinstance(value, tuple) and len(value) == 2:
        return _int(value[0], f"{name}[0]", 0xFFFF), _int(value[1], f"{name}[1]", 0xFFFF)
    raise TypeError(f"{name} must be a port, a (low, high) tuple or None")


def _set_ip(dst, addr) -> None:
    """Writes an address into an ip_addr (IPv4 host order in .v4)."""
    if addr.version == 4:
        dst.v4 = int(addr)
    else:
        ffi.memmove(ffi.addressof(dst), addr.packed, 16)


@dataclasses.dataclass
class Rule:
    """A wildcard rule (``filtering_rule``; the ``core_fields`` are fields
    here).  ``shost``/``dhost``: an address, optionally with a prefix
    length (``"10.1.0.0/16"``), or with the mask in ``shost_mask``/
    ``dhost_mask``; an address alone is that one host.  ``sport``/``dport``:
    a port or an inclusive ``(low, high)`` range.  ``tcp_flags``: all of
    these TCP flags set.  ``tunnel_id``: the packet's GTP TEID, VXLAN VNI
    or GRE key (``NO_TUNNEL_ID``, 0xFFFFFFFF: packets without one; None:
    any).  ``payload_pattern``: 1 to
    :data:`MAX_PATTERN_LEN` bytes (a ``str`` is UTF-8), without NUL bytes,
    that the payload of a TCP or UDP packet must hold (libpfring/README.md
    has the window searched).  ``rule_id`` :data:`AUTO_RULE_ID` takes the
    lowest free id (``Ring.add_rule`` returns it)."""
    rule_id: int = AUTO_RULE_ID
    rule_action: RuleAction = RuleAction.FORWARD_AND_STOP
    balance_id: int = 0
    balance_pool: int = 0
    locked: bool = False
    bidirectional: bool = False
    if_index: int = 0
    smac: Optional[str] = None
    dmac: Optional[str] = None
    vlan_id: int = 0
    eth_type: int = 0
    proto: int = 0
    shost: Optional[str] = None
    shost_mask: Optional[str] = None
    dhost: Optional[str] = None
    dhost_mask: Optional[str] = None
    sport: PortRange = None
    dport: PortRange = None
    tcp_flags: int = 0
    payload_pattern: Union[str, bytes, None] = None
    reflector_device_name: Optional[str] = None
    tunnel_id: Optional[int] = None

    @classmethod
    def parse(cls, text: str) -> "Rule":
        """A rule from a line of ``field=value`` items separated by commas,
        with the field names of this class: ``rule_id=1,proto=17,dport=53,
        rule_action=DONT_FORWARD_AND_STOP``.  Numbers are decimal or 0x hex,
        ports a port or ``low-high``, ``rule_action`` a :class:`RuleAction`
        name, ``locked`` and ``bidirectional`` alone mean true;
        ``payload_pattern`` is text, where ``\\xNN`` is the byte NN (a
        comma is ``\\x2c``) and ``\\\\`` a backslash.  What the values mean is
        checked where the rule is added."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kw = {}
        for item in (i.strip() for i in text.split(",")):
            if not item:
                continue
            name, sep, value = item.partition("=")
            name = name.strip()
            if name not in fields:
                raise _invalid(f"rule {text!r}: no field {name!r} (fields: "
                               f"{', '.join(fields)})")
            if name in kw:
                raise _invalid(f"rule {text!r}: {name} is given twice")
            kw[name] = _parse_value(name, value.strip() if sep else None, text)
        return cls(**kw)

    def _host(self, name: str):
        """(address, mask) of shost or dhost, or None."""
        addr = _addr(getattr(self, name), name)
        mask_text = getattr(self, f"{name}_mask")
        if addr is None:
            if mask_text is not None:
                mask = _addr(mask_text, f"{name}_mask")
                return ipaddress.ip_address(0 if mask[0].version == 4 else "::"), mask[0]
            return None
        addr, plen = addr
        if mask_text is not None:
            if plen is not None:
                raise _invalid(f"{name} {getattr(self, name)!r} has a prefix length and "
                               f"{name}_mask is set too")
            mask, mplen = _addr(mask_text, f"{name}_mask")
            if mplen is not None or mask.version != addr.version:
                raise _invalid(f"{name}_mask {mask_text!r} is not an IPv{addr.version} mask")
            return addr, mask
        return addr, _prefix_mask(addr.version, addr.max_prefixlen if plen is None else plen)

    def to_c(self):
        """The ``filtering_rule *`` (cffi, owned by the result) for this rule."""
        r = ffi.new("filtering_rule *")
        r.rule_id = _int(self.rule_id, "rule_id", 0xFFFF)
        action = self.rule_action
        if not isinstance(action, int) or isinstance(action, bool):
            raise TypeError("rule_action must be a RuleAction")
        r.rule_action = int(action)
        r.balance_id = _int(self.balance_id, "balance_id", 0xFF)
        r.balance_pool = _int(self.balance_pool, "balance_pool", 0xFF)
        r.locked = 1 if self.locked else 0
        r.bidirectional = 1 if self.bidirectional else 0
        c = r.core_fields
        c.if_index = _int(self.if_index, "if_index", 0x7FFFFFFF)
        ffi.memmove(c.smac, _mac(self.smac, "smac"), 6)
        ffi.memmove(c.dmac, _mac(self.dmac, "dmac"), 6)
        c.vlan_id = _int(self.vlan_id, "vlan_id", 0xFFFF)
        c.eth_type = _int(self.eth_type, "eth_type", 0xFFFF)
        c.proto = _int(self.proto, "proto", 0xFF)
        hosts = {name: self._host(name) for name in ("shost", "dhost")}
        versions = {h[0].version for h in hosts.values() if h is not None}
        if len(versions) > 1:
            raise _invalid("shost and dhost must be of one IP version")
        for name, h in hosts.items():
            if h is not None:
                _set_ip(getattr(c, name), h[0])
                _set_ip(getattr(c, f"{name}_mask"), h[1])
        if versions == {6}:
            r.extended_fields.optional_fields |= lib.FILTER_IPV6_FLAG
        c.sport_low, c.sport_high = _ports(self.sport, "sport")
        c.dport_low, c.dport_high = _ports(self.dport, "dport")
        c.tcp.flags = _int(self.tcp_flags, "tcp_flags", 0xFF)
        if self.payload_pattern is not None:
            pat = _pattern(self.payload_pattern)
            ffi.memmove(r.extended_fields.payload_pattern, pat, len(pat))
        if self.tunnel_id is not None:
            r.extended_fields.optional_fields |= lib.FILTER_TUNNEL_ID_FLAG
            r.extended_fields.tunnel.tunnel_id = _int(self.tunnel_id, "tunnel_id", 0xFFFFFFFF)
        _set_reflector(r, self.reflector_device_name)
        return r


_TEXT_FIELDS = {"smac", "dmac", "shost", "shost_mask", "dhost", "dhost_mask", "payload_pattern",
                "reflector_device_name"}


def _parse_value(name: str, value: Optional[str], text: str):
    """One ``field=value`` of :meth:`Rule.parse`."""
    if name in ("locked", "bidirectional"):
        if value is None or value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise _invalid(f"rule {text!r}: {name}={value!r} is not a boolean")
    if value is None or value == "":
        raise _invalid(f"rule {text!r}: {name} needs a value")
    if name == "payload_pattern" and "\\" in value:
        return _unescape(value, text)
    if name in _TEXT_FIELDS:
        return value
    if name == "rule_action":
        try:
            return RuleAction[value.upper()]
        except KeyError:
            raise _invalid(f"rule {text!r}: rule_action {value!r} is not one of "
                           f"{', '.join(a.name for a in RuleAction)}") from None
    try:
        if name in ("sport", "dport"):
            low, sep, high = value.partition("-")
            return (int(low, 0), int(high, 0)) if sep else int(low, 0)
        return int(value, 0)
    except ValueError:
        raise _invalid(f"rule {text!r}: {name}={value!r} is not a number") from None


def _pattern(value) -> bytes:
    """payload_pattern's bytes (b"" = any)."""
    if isinstance(value, str):
        value = value.encode()
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"payload_pattern must be str or bytes, not {type(value).__name__}")
    pat = bytes(value)
    if b"\0" in pat:
        raise _invalid(f"payload_pattern {pat!r} holds a NUL byte (the pattern is a "
                       "NUL-terminated string)")
    if len(pat) > MAX_PATTERN_LEN:
        raise _invalid(f"payload_pattern is {len(pat)} bytes (at most {MAX_PATTERN_LEN})")
    return pat


def _unescape(value: str, text: str) -> bytes:
    """A payload_pattern of Rule.parse with \\xNN and \\\\ escapes."""
    out, i = bytearray(), 0
    while i < len(value):
        c = value[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif value[i + 1:i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif value[i + 1:i + 2] == "x" and len(value[i + 2:i + 4]) == 2 and all(
                ch in "0123456789abcdefABCDEF" for ch in value[i + 2:i + 4]):
            out.append(int(value[i + 2:i + 4], 16))
            i += 4
        else:
            raise _invalid(f"rule {text!r}: payload_pattern {value!r} has a bad escape at "
                           f"{value[i:i + 4]!r} (\\xNN or \\\\)")
    return bytes(out)


def _set_reflector(r, device):
    """The struct's reflector_device_name (None: none)."""
    if device is None:
        return
    name = str(device).encode()
    if len(name) >= lib.REFLECTOR_NAME_LEN:
        raise _invalid(f"reflector_device_name {device!r} is "
                       f"longer than {lib.REFLECTOR_NAME_LEN - 1} bytes")
    ffi.memmove(r.reflector_device_name, name, len(name))


def stats_from_c(st) -> RuleStats:
    """A :class:`RuleStats` from a ``filtering_rule_stats``."""
    return RuleStats(st.match, st.filtered, st.match_forward, st.inactivity,
                     st.match_bytes, st.last_match_ns, st.hash_rules_added,
                     st.hash_rules_refused, st.hash_rules_deleted)


@dataclasses.dataclass(frozen=True)
class HashRuleStats:
    """``hash_filtering_rule_stats``: what matched a hash rule so far."""
    match: int
    filtered: int
    inactivity: int
    match_forward: int
    match_bytes: int
    last_match_ns: int


@dataclasses.dataclass
class HashRule:
    """A hash rule (``hash_filtering_rule``): one flow, matched exactly and
    in both directions (peer a may be the source or the destination).
    ``host_peer_a``/``host_peer_b`` are address strings of one IP version;
    ``ip_version`` 0 takes theirs.  ``vlan_id`` 0 is untagged; ``proto`` and
    the ports are exact (0 for a protocol without ports).  The checks and
    the matching are libpfring's (``pfring_handle_hash_filtering_rule``)."""
    host_peer_a: str
    host_peer_b: str
    port_peer_a: int = 0
    port_peer_b: int = 0
    proto: int = 0
    vlan_id: int = 0
    ip_version: int = 0
    rule_action: RuleAction = RuleAction.FORWARD_AND_STOP
    rule_id: int = 0
    reflector_device_name: Optional[str] = None

    def to_c(self):
        """The ``hash_filtering_rule *`` (cffi, owned by the result) for this rule."""
        r = ffi.new("hash_filtering_rule *")
        r.rule_id = _int(self.rule_id, "rule_id", 0xFFFF)
        r.vlan_id = _int(self.vlan_id, "vlan_id", 0xFFFF)
        r.proto = _int(self.proto, "proto", 0xFF)
        r.port_peer_a = _int(self.port_peer_a, "port_peer_a", 0xFFFF)
        r.port_peer_b = _int(self.port_peer_b, "port_peer_b", 0xFFFF)
        action = self.rule_action
        if not isinstance(action, int) or isinstance(action, bool):
            raise TypeError("rule_action must be a RuleAction")
        r.rule_action = int(action)
        hosts = []
        for name in ("host_peer_a", "host_peer_b"):
            addr = _addr(getattr(self, name), name)
            if addr is None:
                raise TypeError(f"{name} must be a str, not None")
            if addr[1] is not None:
                raise _invalid(f"{name} {getattr(self, name)!r}: a hash rule takes one host, "
                               "not a prefix")
            hosts.append(addr[0])
        if hosts[0].version != hosts[1].version:
            raise _invalid("host_peer_a and host_peer_b must be of one IP version")
        r.ip_version = _int(self.ip_version, "ip_version", 0xFF) or hosts[0].version
        _set_ip(r.host_peer_a, hosts[0])
        _set_ip(r.host_peer_b, hosts[1])
        _set_reflector(r, self.reflector_device_name)
        return r


def hash_stats_from_c(st) -> HashRuleStats:
    """A :class:`HashRuleStats` from a ``hash_filtering_rule_stats``."""
    return HashRuleStats(st.match, st.filtered, st.inactivity, st.match_forward,
                         st.match_bytes, st.last_match_ns)
