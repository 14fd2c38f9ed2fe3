"""Filtering rules, rule to map encoding, without root.

A ``pcap_pfring.rules.Rule`` becomes a ``filtering_rule`` (``Rule.to_c``),
which libpfring checks and encodes for the rules program
(kernel/rules/encode.c, built here alone with tests/unit/c/rules_encode.c).
The expected encodings are written out by hand: which fields are tested
(flags), addresses and masks in network order with IPv4 in word 0, ports
and the action as given; and every refused rule with its exact message.
"""
import pathlib
import re
import shutil
import struct
import subprocess

import pytest

from pcap_pfring import InvalidArgumentError
from pcap_pfring._ffi import ffi, lib
from pcap_pfring.rules import AUTO_RULE_ID, HashRule, Rule, RuleAction

ROOT = pathlib.Path(__file__).resolve().parents[2]
WILD = struct.Struct("<Ii6s6sHHBBBB16s16s16s16sHHHHIBBHB3s32sII")   # struct pfring_rules_wild

IFINDEX, SMAC, DMAC, VLAN, ETH_TYPE, PROTO, SHOST, DHOST = (1 << i for i in range(8))
SPORT, DPORT, TCP_FLAGS, IPV4, IPV6, BIDIR, PATTERN, TUNNEL = (1 << i for i in range(8, 16))
FIELDS = ("flags ifindex smac dmac vlan_id eth_type proto tcp_flags action pad shost "
          "shost_mask dhost dhost_mask sport_low sport_high dport_low dport_high rule_id balance_id "
          "balance_pool stat_slot pattern_len pad3 pattern reflect_ifindex tunnel_id").split()


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path_factory.mktemp("rules") / "rules_encode"
    cmd = ["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
           f"-I{ROOT / 'libpfring/include'}", f"-I{ROOT / 'libpfring/src'}",
           f"-I{ROOT / 'kernel/rules'}", "-o", str(exe),
           str(ROOT / "tests/unit/c/rules_encode.c"), str(ROOT / "kernel/rules/encode.c")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr

    def encode(*rules):
        lines = "".join(bytes(ffi.buffer(r.to_c())).hex() + "\n" for r in rules)
        res = subprocess.run([str(exe)], input=lines, capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        out = []
        for line in res.stdout.splitlines():
            kind, rest = line.split(" ", 1)
            if kind == "ok":
                out.append(dict(zip(FIELDS, WILD.unpack(bytes.fromhex(rest)))))
            else:
                code, message = rest.split(" ", 1)
                out.append((int(code), message))
        return out[0] if len(out) == 1 else out
    encode.exe = exe
    return encode


def ip4(text):
    return bytes(int(x) for x in text.split(".")) + bytes(12)


def test_struct_sizes_are_pf_rings():
    assert ffi.sizeof("filtering_rule") == 230
    assert ffi.sizeof("filtering_rule_core_fields") == 94
    assert ffi.sizeof("filtering_rule_extended_fields") == 102


def test_python_rule_writes_the_struct():
    c = Rule(rule_id=7, rule_action=RuleAction.DONT_FORWARD_AND_STOP, locked=True,
             bidirectional=True, smac="02:00:00:00:00:0a", vlan_id=5, proto=6,
             shost="10.1.2.0/24", dhost="192.168.1.1", sport=80, dport=(1024, 2047),
             tcp_flags=0x12).to_c()
    core = c.core_fields
    assert (c.rule_id, c.rule_action, c.locked, c.bidirectional) == (7, 1, 1, 1)
    assert bytes(ffi.buffer(core.smac)) == bytes.fromhex("02000000000a")
    assert (core.vlan_id, core.proto, core.tcp.flags) == (5, 6, 0x12)
    assert core.shost.v4 == 0x0A010200 and core.shost_mask.v4 == 0xFFFFFF00   # host order
    assert core.dhost.v4 == 0xC0A80101 and core.dhost_mask.v4 == 0xFFFFFFFF
    assert (core.sport_low, core.sport_high, core.dport_low, core.dport_high) == (80, 80, 1024,
                                                                                  2047)
    assert c.extended_fields.optional_fields == 0
    v6 = Rule(dhost="2001:db8::/32").to_c()
    assert v6.extended_fields.optional_fields == lib.FILTER_IPV6_FLAG
    assert bytes(ffi.buffer(ffi.addressof(v6.core_fields.dhost_mask)))[:5] == b"\xff" * 4 + b"\0"
    assert Rule().to_c().rule_id == AUTO_RULE_ID


def test_empty_rule_tests_nothing(encoder):
    w = encoder(Rule(rule_id=3))
    assert w["flags"] == 0 and w["rule_id"] == 3 and w["action"] == 0


def test_every_core_field(encoder):
    w = encoder(Rule(rule_id=9, rule_action=RuleAction.EXECUTE_AND_CONTINUE, bidirectional=True,
                     if_index=4, smac="02:00:00:00:00:01", dmac="02:00:00:00:00:02", vlan_id=100,
                     eth_type=0x0800, proto=17, shost="10.0.0.0/8", dhost="10.9.8.7",
                     sport=(1, 1023), dport=53, tcp_flags=2))
    assert w["flags"] == (IFINDEX | SMAC | DMAC | VLAN | ETH_TYPE | PROTO | SHOST | DHOST |
                          SPORT | DPORT | TCP_FLAGS | IPV4 | BIDIR)
    assert (w["ifindex"], w["vlan_id"], w["eth_type"], w["proto"], w["tcp_flags"]) == \
        (4, 100, 0x0800, 17, 2)
    assert w["smac"] == bytes.fromhex("020000000001") and w["dmac"] == bytes.fromhex(
        "020000000002")
    assert w["shost"] == ip4("10.0.0.0") and w["shost_mask"] == ip4("255.0.0.0")  # network order
    assert w["dhost"] == ip4("10.9.8.7") and w["dhost_mask"] == ip4("255.255.255.255")
    assert (w["sport_low"], w["sport_high"], w["dport_low"], w["dport_high"]) == (1, 1023, 53, 53)
    assert (w["action"], w["rule_id"]) == (2, 9)


def test_balance_pool(encoder):
    w = encoder(Rule(balance_id=2, balance_pool=3, proto=6))
    assert (w["balance_id"], w["balance_pool"], w["flags"]) == (2, 3, PROTO)
    assert encoder(Rule())["balance_pool"] == 0


def test_ipv6_hosts(encoder):
    w = encoder(Rule(shost="2001:db8:1::/48"))
    assert w["flags"] == SHOST | IPV6
    assert w["shost"] == bytes.fromhex("20010db80001") + bytes(10)
    assert w["shost_mask"] == b"\xff" * 6 + bytes(10)
    # A /32 prefix looks like an IPv4 address in the union: the flag says IPv6.
    w = encoder(Rule(dhost="2001:db8::/32"))
    assert w["flags"] == DHOST | IPV6


def test_refused_rules_name_the_field(encoder):
    inval = lib.PF_RING_ERROR_INVALID_ARGUMENT
    got = encoder(
        Rule(sport=(9, 3)),
        Rule(dport=(7, 0)),
        Rule(shost="10.0.0.0", shost_mask="255.255.0.255"),
        Rule(dhost="10.0.0.1", dhost_mask="255.255.255.0"),
        Rule(dhost="fe80::", dhost_mask="ffff:0:ffff::"),
        Rule(vlan_id=4096),
        Rule(balance_id=2, balance_pool=2),
        Rule(balance_id=1),
    )
    assert got == [
        (inval, "inverted port range: core_fields.sport_low 9 > core_fields.sport_high 3"),
        (inval, "core_fields.dport_low 7 without core_fields.dport_high (a high of 0 means any "
                "port)"),
        (inval, "core_fields.shost_mask 255.255.0.255 is not a contiguous mask"),
        (inval, "core_fields.dhost 10.0.0.1 has bits outside core_fields.dhost_mask"),
        (inval, "core_fields.dhost_mask ffff:0:ffff:: is not a contiguous mask"),
        (inval, "core_fields.vlan_id 4096 is out of range (1..4095, 0 = any)"),
        (inval, "balance_id 2 is not below balance_pool 2 (members 0..1)"),
        (inval, "balance_id 1 without a balance_pool"),
    ]


def test_every_action_encodes_as_its_number(encoder):
    """The program's action numbers are rule_action_behaviour's; the
    reflector device is resolved later, in the ring's namespace (rules.c),
    so the encoder leaves reflect_ifindex 0."""
    got = encoder(*(Rule(rule_action=a, reflector_device_name="rf0") for a in RuleAction))
    assert [(w["action"], w["reflect_ifindex"]) for w in got] == [(a, 0) for a in RuleAction]
    assert encoder(Rule(rule_action=10)) == (
        lib.PF_RING_ERROR_INVALID_ARGUMENT,
        "rule_action 10 is not a rule_action_behaviour (0..9)")


def test_tunnel_id(encoder):
    a, b = encoder(Rule(tunnel_id=0x1234), Rule(tunnel_id=lib.NO_TUNNEL_ID, proto=17))
    assert (a["flags"], a["tunnel_id"]) == (TUNNEL, 0x1234)
    assert (b["flags"], b["tunnel_id"]) == (TUNNEL | PROTO, 0xFFFFFFFF)
    assert encoder(Rule())["flags"] == 0


def test_payload_pattern(encoder):
    a, b, c, d = encoder(Rule(rule_id=4, payload_pattern="GET /"),
                         Rule(proto=6, payload_pattern=b"\x01\xffA"),
                         Rule(payload_pattern="x" * 31),
                         Rule(payload_pattern=""))
    assert (a["flags"], a["pattern_len"], a["pattern"]) == (PATTERN, 5, b"GET /" + bytes(27))
    assert (b["flags"], b["pattern_len"], b["pattern"]) == (PROTO | PATTERN, 3,
                                                            b"\x01\xffA" + bytes(29))
    assert (c["pattern_len"], c["pattern"]) == (31, b"x" * 31 + b"\0")
    assert (d["flags"], d["pattern_len"], d["pattern"]) == (0, 0, bytes(32))   # "" = any
    assert a["pad3"] == bytes(3)


def test_payload_pattern_not_terminated_is_refused(encoder):
    r = Rule(rule_id=2).to_c()
    ffi.memmove(r.extended_fields.payload_pattern, b"y" * 32, 32)   # no NUL: from C only
    rule = Rule()
    rule.to_c = lambda: r
    assert encoder(rule) == (lib.PF_RING_ERROR_INVALID_ARGUMENT,
                             "extended_fields.payload_pattern is not NUL-terminated within its "
                             "32 bytes (a pattern has at most 31)")


@pytest.mark.parametrize("pattern, exc, message", [
    ("x" * 32, InvalidArgumentError, "payload_pattern is 32 bytes (at most 31)"),
    ("é" * 16, InvalidArgumentError, "payload_pattern is 32 bytes (at most 31)"),
    (b"a\0b", InvalidArgumentError, "payload_pattern b'a\\x00b' holds a NUL byte (the "
                                     "pattern is a NUL-terminated string)"),
    (7, TypeError, "payload_pattern must be str or bytes, not int"),
])
def test_bad_payload_patterns_in_python(pattern, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        Rule(payload_pattern=pattern).to_c()


def test_add_rule_action(encoder):
    w = encoder(Rule(rule_id=6, proto=17, rule_action=RuleAction.FORWARD_ADD_RULE_AND_STOP))
    assert (w["action"], w["flags"], w["rule_id"]) == (4, PROTO, 6)


def test_delete_rule_action(encoder):
    """forward_packet_del_rule_and_stop_rule_evaluation: 9, after the
    guide's nine (0..8 keep the guide's numbers)."""
    assert [int(a) for a in RuleAction] == list(range(10))
    w = encoder(Rule(rule_id=8, proto=6, rule_action=RuleAction.FORWARD_DEL_RULE_AND_STOP))
    assert (w["action"], w["flags"], w["rule_id"]) == (9, PROTO, 8)


def test_a_host_needs_its_mask(encoder):
    r = Rule().to_c()
    r.core_fields.shost.v4 = 0x0A000001             # no mask: from C, not from Rule
    exe_input = Rule()                               # placeholder to reuse the harness
    exe_input.to_c = lambda: r
    assert encoder(exe_input) == (lib.PF_RING_ERROR_INVALID_ARGUMENT,
                                  "core_fields.shost is set without core_fields.shost_mask")


# -- hash rules: the flow's key, the same for both directions ---------------------

HKEY = struct.Struct("<HBB16s16sHH")     # struct pfring_rules_hkey


def hash_encode(exe, *rules):
    lines = "".join("h " + bytes(ffi.buffer(r.to_c())).hex() + "\n" for r in rules)
    res = subprocess.run([str(exe)], input=lines, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    out = []
    for line in res.stdout.splitlines():
        kind, rest = line.split(" ", 1)
        if kind == "ok":
            key, action = rest.split(" ")
            out.append((HKEY.unpack(bytes.fromhex(key)), int(action)))
        else:
            code, message = rest.split(" ", 1)
            out.append((int(code), message))
    return out


def test_hash_struct_sizes_are_pf_rings():
    assert ffi.sizeof("hash_filtering_rule") == 70
    assert HKEY.size == 40


def test_hash_key_is_one_for_both_directions(encoder):
    fwd = HashRule(host_peer_a="10.2.0.1", host_peer_b="10.1.0.1", port_peer_a=2000,
                   port_peer_b=1000, proto=17, vlan_id=7,
                   rule_action=RuleAction.DONT_FORWARD_AND_STOP)
    rev = HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", port_peer_a=1000,
                   port_peer_b=2000, proto=17, vlan_id=7)
    same_host = HashRule(host_peer_a="10.1.0.1", host_peer_b="10.1.0.1", port_peer_a=9,
                         port_peer_b=3, proto=6)
    v6 = HashRule(host_peer_a="2001:db8::2", host_peer_b="2001:db8::1", proto=58)
    a, b, c, d = hash_encode(encoder.exe, fwd, rev, same_host, v6)
    # The lower (host, port) first, hosts in network order, IPv4 in word 0.
    assert a == ((7, 4, 17, ip4("10.1.0.1"), ip4("10.2.0.1"), 1000, 2000), 1)
    assert b == (a[0], 0)
    assert c == ((0, 4, 6, ip4("10.1.0.1"), ip4("10.1.0.1"), 3, 9), 0)
    assert d[0][3] == bytes.fromhex("20010db8") + bytes(11) + b"\x01"
    assert d[0][:3] == (0, 6, 58)


def test_refused_hash_rules_name_the_field(encoder):
    inval = lib.PF_RING_ERROR_INVALID_ARGUMENT
    got = hash_encode(
        encoder.exe,
        HashRule(host_peer_a="10.0.0.1", host_peer_b="10.0.0.2", ip_version=5),
        HashRule(host_peer_a="10.0.0.1", host_peer_b="10.0.0.2", vlan_id=4096),
        HashRule(host_peer_a="10.0.0.1", host_peer_b="0.0.0.0"),
        HashRule(host_peer_a="::", host_peer_b="::1"),
        HashRule(host_peer_a="10.0.0.1", host_peer_b="10.0.0.2",
                 rule_action=RuleAction.FORWARD_ADD_RULE_AND_STOP),
        HashRule(host_peer_a="10.0.0.1", host_peer_b="10.0.0.2",
                 rule_action=RuleAction.FORWARD_DEL_RULE_AND_STOP),
        HashRule(host_peer_a="10.0.0.1", host_peer_b="10.0.0.2", rule_action=10),
    )
    assert got == [
        (inval, "ip_version 5 is not 4 or 6"),
        (inval, "vlan_id 4096 is out of range (0..4095, 0 = untagged)"),
        (inval, "host_peer_b is not set (a hash rule matches one flow exactly)"),
        (inval, "host_peer_a is not set (a hash rule matches one flow exactly)"),
        (inval, "rule_action forward_packet_add_rule_and_stop_rule_evaluation is for wildcard "
                "rules (it adds hash rules)"),
        (inval, "rule_action forward_packet_del_rule_and_stop_rule_evaluation is for wildcard "
                "rules (it removes hash rules)"),
        (inval, "rule_action 10 is not a rule_action_behaviour (0..9)"),
    ]


def native(exe, *programs):
    """pfringint_rules_native of each classic program: (form, snap)."""
    lines = "".join("c " + b"".join(struct.pack("<HBBI", *i) for i in prog).hex() + "\n"
                    for prog in programs)
    res = subprocess.run([str(exe)], input=lines, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return [tuple(int(x) for x in line.split()[1:]) for line in res.stdout.splitlines()]


LD_PKTTYPE = (0x20, 0, 0, 0xFFFFF004)       # ld [pkttype]: SKF_AD_OFF + SKF_AD_PKTTYPE
RET = 0x06


def test_classic_filters_the_rules_program_runs_natively(encoder):
    """kernel/filter.c's plain forms (ret #k; the direction check before it)
    run without the interpreter; anything else is interpreted (form 0)."""
    got = native(
        encoder.exe,
        [(RET, 0, 0, 1536)],                                                  # accept
        [LD_PKTTYPE, (0x15, 0, 1, 4), (RET, 0, 0, 0), (RET, 0, 0, 128)],      # RX only
        [LD_PKTTYPE, (0x15, 1, 0, 4), (RET, 0, 0, 0), (RET, 0, 0, 128)],      # TX only
        [LD_PKTTYPE, (0x15, 0, 1, 3), (RET, 0, 0, 0), (RET, 0, 0, 128)],      # not OUTGOING
        [LD_PKTTYPE, (0x15, 0, 1, 4), (RET, 0, 0, 1), (RET, 0, 0, 128)],      # keeps both
        [(0x20, 0, 0, 0xFFFFF020), (0x15, 0, 1, 4), (RET, 0, 0, 0), (RET, 0, 0, 128)],
        [(0x28, 0, 0, 12), (0x15, 0, 1, 0x800), (RET, 0, 0, 0), (RET, 0, 0, 128)],
        [(RET, 0, 0, 1536), (RET, 0, 0, 0)],
        [(0x16, 0, 0, 0)],                                                    # ret a
    )
    assert got == [(1, 1536), (2, 128), (3, 128), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0),
                   (0, 0)]
