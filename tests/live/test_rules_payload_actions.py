"""payload_pattern and the add-rule action of the filtering rules.

The setup of test_rules.py: frames with serials go from namespace b to a
ring in namespace a, and each test asserts exactly which serials reached the
ring and the exact counters.  The frames here carry chosen payloads: the
serial first (MARK + 4 bytes), then the bytes a pattern is looked for in.
"""
import ipaddress
import struct
import time

import pytest
from test_rules import MARK, open_ring, run

from pcap_pfring import Direction, InvalidArgumentError, Ring
from pcap_pfring._ffi import ffi, lib
from pcap_pfring.errors import PFRingError
from pcap_pfring.netns import VethPair
from pcap_pfring.rules import MAX_HASH_RULES, MAX_PATTERN_LEN, HashRule, Rule, RuleAction
from pcap_pfring.testing.fixtures import frame, needs_root

pytestmark = pytest.mark.needs_root

ADD = RuleAction.FORWARD_ADD_RULE_AND_STOP
DEL = RuleAction.FORWARD_DEL_RULE_AND_STOP
WINDOW = 16384                 # PFRING_RULES_PAYLOAD_WINDOW: payload bytes searched
JUMBO_MTU = 17000              # frames with a payload past the window


@pytest.fixture
def jumbo_pair():
    if not needs_root():
        pytest.skip("needs root to create network namespaces")
    pair = VethPair(mtu=JUMBO_MTU)
    try:
        yield pair
    finally:
        pair.delete()


def pkt(pair, serial, body=b"", src="10.1.0.1", dst="10.2.0.1", proto=17, sport=1000,
        dport=2000, vlan=None, tcp_options=b"", frag_offset=0, more_fragments=False):
    """A frame whose L4 payload is MARK, the serial, then body."""
    payload = MARK + struct.pack("!I", serial) + body
    if proto == 6:
        assert len(tcp_options) % 4 == 0
        doff = 5 + len(tcp_options) // 4
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, doff << 4, 0x18, 1024, 0, 0) + \
            tcp_options + payload
    elif proto == 17:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    else:
        l4 = struct.pack("!BBHHH", 8, 0, 0, 1, serial & 0xFFFF) + payload   # ICMP echo
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        frag = (0x2000 if more_fragments else 0) | frag_offset
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), serial & 0xFFFF, frag, 64,
                         proto, 0, s.packed, d.packed)
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, s.packed, d.packed)
        ethertype = 0x86DD
    return frame(pair.mac_a, pair.mac_b, ethertype, ip + l4, vlan=vlan)


def at(offset, needle=b"NEEDLE", total=None):
    """A body that puts needle at payload byte ``offset`` (the payload
    starts with the 8 bytes of MARK and the serial)."""
    body = b"." * (offset - 8) + needle
    return body + b"." * max(0, (total or 0) - 8 - len(body))


# -- payload_pattern -------------------------------------------------------------

def test_pattern_anywhere_in_udp_and_tcp_payload(veth_pair):
    p = veth_pair
    frames = [
        pkt(p, 0, b"NEEDLE and more"),                         # at the start of the body
        pkt(p, 1, b"hay hay NEEDLE hay"),                      # in the middle
        pkt(p, 2, b"hay hay hay NEEDLE"),                      # the last bytes
        pkt(p, 3, b"hay NEEDL E hay"),                         # split: no
        pkt(p, 4, b"hay needle hay"),                          # case counts: no
        pkt(p, 5, b"hay NEEDLE", proto=6),                     # TCP payload
        pkt(p, 6, b"hay", proto=6, tcp_options=b"NEEDLE\x01\x01"),   # in TCP options: no
        pkt(p, 7, b"hay NEEDLE", proto=1),                     # ICMP has no payload: no
        pkt(p, 8, b"hay NEEDLENEEDLE"),
    ]
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, payload_pattern="NEEDLE"))
        assert run(p, ring, frames) == [0, 1, 2, 5, 8]
        st = ring.rule_stats(1)
        assert (st.match, st.match_forward, st.filtered) == (5, 5, 0)
        assert st.match_bytes == sum(len(frames[i]) for i in (0, 1, 2, 5, 8))


def test_pattern_with_other_fields_ipv6_and_vlan(veth_pair):
    p = veth_pair
    v6 = dict(src="2001:db8:1::1", dst="2001:db8:2::1")
    frames = [
        pkt(p, 0, b"x GET /index", **v6),
        pkt(p, 1, b"x GET /index", vlan=7),
        pkt(p, 2, b"x GET /index", vlan=7, **v6),
        pkt(p, 3, b"x PUT /index", vlan=7, **v6),
        pkt(p, 4, b"x GET /index", dport=2001, vlan=7, **v6),
        pkt(p, 5, b"x GET /index", proto=6, vlan=7, **v6),
    ]
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, payload_pattern=b"GET /", shost="2001:db8:1::/48",
                           vlan_id=7, dport=2000, proto=17))
        ring.add_rule(Rule(rule_id=2, payload_pattern="GET /", eth_type=0x86DD, proto=17,
                           rule_action=RuleAction.EXECUTE_AND_CONTINUE))
        assert run(p, ring, frames) == [2]
        # 2 counts frames 0 and 4 (frame 2 stopped at rule 1); the policy drops them.
        assert [ring.rule_stats(i).match for i in (1, 2)] == [1, 2]


def test_pattern_drop_rule_and_binary_bytes(veth_pair):
    p = veth_pair
    frames = [pkt(p, 0, b"\x00\x01\xfe\xff\x7f"), pkt(p, 1, b"\x00\x01\xfe\x7f"),
              pkt(p, 2, b"plain")]
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=3, payload_pattern=b"\x01\xfe\xff",
                           rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert run(p, ring, frames) == [1, 2]
        st = ring.rule_stats(3)
        assert (st.match, st.filtered, st.match_forward) == (1, 1, 0)


def test_the_window_and_the_longest_pattern(jumbo_pair):
    p = jumbo_pair
    longest = bytes(range(0x41, 0x41 + MAX_PATTERN_LEN))          # 31 bytes, A..
    frames = [
        pkt(p, 0, at(WINDOW - 6)),                                # ends at the window's end
        pkt(p, 1, at(WINDOW - 5)),                                # one byte past it: no
        pkt(p, 2, at(WINDOW + 100, total=WINDOW + 200)),          # beyond: no
        pkt(p, 3, at(100, longest)),
        pkt(p, 4, at(WINDOW - 31, longest)),
        pkt(p, 5, at(WINDOW - 30, longest)),                      # no
        pkt(p, 6, at(8, longest[:-1] + b"!")),                    # last byte differs: no
        pkt(p, 7, at(8960 - 6)),            # the end of a 9000-byte MTU's UDP payload
        pkt(p, 8, at(8960 - 6), proto=6),   # ... and of its TCP payload
    ]
    assert len(frames[2]) > WINDOW + 200 and len(frames[0]) > 9000
    with p.a.enter():
        ring = Ring(p.if_a, JUMBO_MTU + 64)
    ring.set_direction(Direction.RX_ONLY)
    with ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, payload_pattern="NEEDLE"))
        ring.add_rule(Rule(rule_id=2, payload_pattern=longest))
        assert run(p, ring, frames) == [0, 3, 4, 7, 8]
        assert [ring.rule_stats(i).match for i in (1, 2)] == [3, 2]


def test_pattern_is_searched_up_to_the_snap_length(veth_pair):
    p = veth_pair
    # 14 + 20 + 8 header bytes: with a snap length of 128 the ring keeps 86
    # payload bytes, and the pattern must lie in them.
    frames = [pkt(p, 0, at(86 - 6)), pkt(p, 1, at(86 - 5)), pkt(p, 2, at(20))]
    with p.a.enter():
        ring = Ring(p.if_a, 128)
    ring.set_direction(Direction.RX_ONLY)
    with ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, payload_pattern="NEEDLE"))
        got = run(p, ring, frames)
        assert got == [0, 2]


def test_fragments_have_a_payload_only_in_the_first(veth_pair):
    p = veth_pair
    frames = [pkt(p, 0, b"x NEEDLE", more_fragments=True),        # the first fragment
              pkt(p, 1, b"x NEEDLE", frag_offset=100)]            # a later one: no header
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, payload_pattern="NEEDLE"))
        assert run(p, ring, frames) == [0]


def test_bad_patterns_are_refused_and_the_rules_stay(veth_pair):
    p = veth_pair
    frames = [pkt(p, 0, b"keep"), pkt(p, 1, b"drop")]
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, payload_pattern="drop",
                           rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        ring.enable()
        with pytest.raises(InvalidArgumentError, match=r"payload_pattern is 32 bytes \(at most "
                                                       r"31\)"):
            ring.add_rule(Rule(rule_id=2, payload_pattern="z" * 32))
        with pytest.raises(InvalidArgumentError, match="holds a NUL byte"):
            ring.add_rule(Rule(rule_id=2, payload_pattern=b"a\0"))
        with pytest.raises(TypeError, match="payload_pattern must be str or bytes"):
            ring.add_rule(Rule(rule_id=2, payload_pattern=5))
        # From C, 32 bytes without their NUL.
        r = Rule(rule_id=2).to_c()
        ffi.memmove(r.extended_fields.payload_pattern, b"z" * 32, 32)
        assert lib.pfring_add_filtering_rule(ring._h(), r) == lib.PF_RING_ERROR_INVALID_ARGUMENT
        assert "filtering rule 2: extended_fields.payload_pattern is not NUL-terminated within " \
               "its 32 bytes (a pattern has at most 31)" in ring.last_error
        assert run(p, ring, frames, enable=False) == [0]
        assert ring.rule_stats(1).match == 1
        with pytest.raises(PFRingError, match="rule_id 2 is not a filtering rule"):
            ring.rule_stats(2)


# -- forward_packet_add_rule_and_stop_rule_evaluation -----------------------------

def flow(src="10.1.0.1", dst="10.2.0.1", sport=1000, dport=2000, proto=17, vlan_id=0):
    return HashRule(host_peer_a=src, host_peer_b=dst, port_peer_a=sport, port_peer_b=dport,
                    proto=proto, vlan_id=vlan_id)


def hash_rules_in_status(ring, want):
    """The ring's "Sw Filt Hash Rules" in the status tree, once it is want
    (the status worker rewrites the entry every second) or after 5 s."""
    from pcap_pfring import status
    deadline = time.monotonic() + 5.0
    while True:
        mine = [r for r in status.list_rings() if r.ring_id == ring.ring_id]
        assert len(mine) == 1
        got = int(mine[0].fields["Sw Filt Hash Rules"])
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_add_rule_adds_the_flow_as_a_hash_rule(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, proto=17, dport=2000, rule_action=ADD))
        ring.enable()
        loads = ring.rules_program_loads()
        first = pkt(p, 0, b"one")
        assert run(p, ring, [first], enable=False) == [0]
        # The reverse direction and a port the wildcard rule does not take:
        # only the hash rule of the flow forwards them.
        later = [pkt(p, 1, src="10.2.0.1", dst="10.1.0.1", sport=2000, dport=1000),
                 pkt(p, 2),
                 pkt(p, 3, sport=1001),                         # a new flow: added too
                 pkt(p, 4, dport=3000),                         # no rule: the policy drops
                 pkt(p, 5, src="10.2.0.1", dst="10.1.0.1", sport=2000, dport=1001)]
        assert run(p, ring, later, enable=False) == [1, 2, 3, 5]
        st = ring.rule_stats(1)
        assert (st.match, st.match_forward, st.filtered) == (2, 2, 0)
        assert (st.hash_rules_added, st.hash_rules_refused) == (2, 0)
        assert st.match_bytes == len(first) + len(later[2])
        hs = ring.hash_rule_stats(flow())
        assert (hs.match, hs.match_forward, hs.filtered) == (2, 2, 0)
        assert hs.match_bytes == len(later[0]) + len(later[1])
        assert hs.inactivity <= 1 and hs.last_match_ns > 0
        assert ring.hash_rule_stats(flow(sport=1001)).match == 1
        assert ring.rules_program_loads() == loads                   # no program load
        assert hash_rules_in_status(ring, 2) == 2
        # A flow that is a hash rule already is not added twice: it never
        # reaches the wildcard rule again.
        assert run(p, ring, [pkt(p, 6)], enable=False) == [6]
        assert ring.rule_stats(1).hash_rules_added == 2
        # The kernel's rules are removed as any other.
        ring.remove_hash_rule(flow(src="10.2.0.1", dst="10.1.0.1", sport=2000, dport=1000))
        assert hash_rules_in_status(ring, 1) == 1
        with pytest.raises(PFRingError, match="is not a hash filtering rule of 'veth0'"):
            ring.hash_rule_stats(flow())
        assert ring.purge_idle_hash_rules(0) == 1
        assert hash_rules_in_status(ring, 0) == 0
        # Flows 1000 -> 2000 and 1001 -> 2000 added again, and the reverse of
        # the second one then hits its rule.
        assert run(p, ring, later, enable=False) == [2, 3, 5]
        assert ring.rule_stats(1).hash_rules_added == 4


def test_add_rule_ipv6_and_vlan(veth_pair):
    p = veth_pair
    a, b = "2001:db8:1::1", "2001:db8:2::1"
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, vlan_id=7, shost="2001:db8:1::/48", rule_action=ADD))
        assert run(p, ring, [pkt(p, 0, src=a, dst=b, vlan=7)]) == [0]
        later = [pkt(p, 1, src=b, dst=a, sport=2000, dport=1000, vlan=7),
                 pkt(p, 2, src=b, dst=a, sport=2000, dport=1000, vlan=8),    # another VLAN
                 pkt(p, 3, src=b, dst=a, sport=2000, dport=1000),            # untagged
                 pkt(p, 4, src=b, dst=a, sport=2000, dport=1000, proto=6, vlan=7)]
        assert run(p, ring, later, enable=False) == [1]
        hs = ring.hash_rule_stats(flow(a, b, vlan_id=7))
        assert (hs.match, hs.match_forward) == (1, 1)
        with pytest.raises(PFRingError, match="is not a hash filtering rule"):
            ring.hash_rule_stats(flow(a, b))
        st = ring.rule_stats(1)
        assert (st.match, st.hash_rules_added) == (1, 1)


def test_add_rule_with_a_pattern_keeps_the_rest_of_the_flow(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, proto=17, payload_pattern="LOGIN", rule_action=ADD))
        frames = [pkt(p, 0, b"hello"), pkt(p, 1, b"x LOGIN y")]
        assert run(p, ring, frames) == [1]
        rest = [pkt(p, 2, b"data"), pkt(p, 3, b"data", src="10.2.0.1", dst="10.1.0.1",
                                       sport=2000, dport=1000),
                pkt(p, 4, b"data", sport=1001)]
        assert run(p, ring, rest, enable=False) == [2, 3]
        assert ring.rule_stats(1).hash_rules_added == 1


def test_kernel_rules_stay_when_the_add_rule_goes(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=17, rule_action=ADD))
        ring.add_rule(Rule(rule_id=2, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert run(p, ring, [pkt(p, 0)]) == [0]
        ring.remove_rule(1)
        frames = [pkt(p, 1), pkt(p, 2, sport=1001)]
        assert run(p, ring, frames, enable=False) == [1]             # the hash rule forwards
        assert ring.hash_rule_stats(flow()).match == 1
        assert hash_rules_in_status(ring, 1) == 1
        ring.remove_hash_rule(flow())
        assert run(p, ring, frames, enable=False) == []
        ring.remove_rule(2)
        assert run(p, ring, frames, enable=False) == [1, 2]


def arp_frame(pair, serial):
    """A frame that is not IP (no flow), with a serial."""
    return frame(pair.mac_a, pair.mac_b, 0x0806, MARK + struct.pack("!I", serial) + bytes(20))


def test_add_rule_a_packet_without_a_flow_adds_nothing(veth_pair):
    p = veth_pair
    arp = arp_frame(p, 0)
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, rule_action=ADD))
        assert run(p, ring, [arp, pkt(p, 1, proto=1)]) == [0, 1]
        st = ring.rule_stats(1)
        # ICMP is IP: its flow (ports 0) is added; the ARP frame has none.
        assert (st.match, st.hash_rules_added, st.hash_rules_refused) == (2, 1, 0)
        assert ring.hash_rule_stats(flow(sport=0, dport=0, proto=1)).match == 0
        assert hash_rules_in_status(ring, 1) == 1


def test_add_rule_with_a_full_hash_map(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        ring.set_policy(False)
        for i in range(MAX_HASH_RULES):
            ring.add_hash_rule(HashRule(host_peer_a="10.9.0.1",
                                        host_peer_b=f"10.{100 + i // 65536}.{i // 256 % 256}"
                                                    f".{i % 256}", proto=17))
        ring.add_rule(Rule(rule_id=1, proto=17, dport=2000, rule_action=ADD))
        frames = [pkt(p, 0), pkt(p, 1, src="10.2.0.1", dst="10.1.0.1", sport=2000, dport=1000)]
        # The map is full: the packet is forwarded all the same, the flow is
        # not added (so its reverse direction is dropped), and it is counted.
        assert run(p, ring, frames) == [0]
        st = ring.rule_stats(1)
        assert (st.match, st.match_forward, st.hash_rules_added, st.hash_rules_refused) == \
            (1, 1, 0, 1)
        with pytest.raises(PFRingError, match="is not a hash filtering rule"):
            ring.hash_rule_stats(flow())
        assert hash_rules_in_status(ring, MAX_HASH_RULES) == MAX_HASH_RULES
        # Room for one: the program takes it, and user space sees the map full.
        ring.remove_hash_rule(HashRule(host_peer_a="10.9.0.1", host_peer_b="10.100.0.0",
                                       proto=17))
        assert run(p, ring, frames, enable=False) == [0, 1]
        st = ring.rule_stats(1)
        assert (st.match, st.hash_rules_added, st.hash_rules_refused) == (2, 1, 1)
        assert ring.hash_rule_stats(flow()).match == 1
        assert hash_rules_in_status(ring, MAX_HASH_RULES) == MAX_HASH_RULES
        with pytest.raises(PFRingError, match=f"already has {MAX_HASH_RULES} hash filtering "
                                              "rules"):
            ring.add_hash_rule(HashRule(host_peer_a="10.9.0.1", host_peer_b="10.9.9.9"))
        assert ring.purge_idle_hash_rules(0) == MAX_HASH_RULES
        assert hash_rules_in_status(ring, 0) == 0


# -- forward_packet_del_rule_and_stop_rule_evaluation -----------------------------

def test_del_rule_ends_the_hash_rule_an_add_rule_made(veth_pair):
    p = veth_pair
    back = dict(src="10.2.0.1", dst="10.1.0.1", sport=2000, dport=1000)
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, proto=17, dport=2000, rule_action=ADD))
        ring.add_rule(Rule(rule_id=2, proto=17, payload_pattern="BYE", rule_action=DEL))
        loads = ring.rules_program_loads()
        assert run(p, ring, [pkt(p, 0, b"hello")]) == [0]
        assert hash_rules_in_status(ring, 1) == 1
        # The hash rule forwards the reverse direction; the BYE packet (a
        # hash rule decided it) removes it and is forwarded; then the
        # reverse direction is the policy's again, and the forward
        # direction adds the flow once more.
        bye = pkt(p, 2, b"BYE", **back)
        frames = [pkt(p, 1, b"data", **back), bye]
        assert run(p, ring, frames, enable=False) == [1, 2]
        assert hash_rules_in_status(ring, 0) == 0
        with pytest.raises(PFRingError, match="is not a hash filtering rule"):
            ring.hash_rule_stats(flow())
        assert run(p, ring, [pkt(p, 3, b"data", **back)], enable=False) == []
        assert run(p, ring, [pkt(p, 4, b"again")], enable=False) == [4]
        assert hash_rules_in_status(ring, 1) == 1
        assert run(p, ring, [pkt(p, 5, b"data", **back)], enable=False) == [5]
        st = ring.rule_stats(2)
        assert (st.match, st.match_forward, st.filtered) == (1, 1, 0)
        assert (st.hash_rules_added, st.hash_rules_deleted) == (0, 1)
        assert st.match_bytes == len(bye)
        st = ring.rule_stats(1)
        assert (st.match, st.hash_rules_added, st.hash_rules_deleted) == (2, 2, 0)
        hs = ring.hash_rule_stats(flow())
        assert (hs.match, hs.match_forward) == (1, 1)       # packet 5, since the new add
        assert ring.rules_program_loads() == loads          # no program load


def test_del_rule_removes_a_users_hash_rule_and_only_del_rules_run(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        # A hash rule that drops the flow, a wildcard rule that drops
        # everything (it never runs for the packets the hash rule decides),
        # and a delete-rule rule on the TCP FIN flag.
        ring.add_hash_rule(HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1",
                                    port_peer_a=1000, port_peer_b=2000, proto=6,
                                    rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        ring.add_rule(Rule(rule_id=1, rule_action=RuleAction.DONT_FORWARD_AND_STOP,
                           proto=6, dport=3000))
        ring.add_rule(Rule(rule_id=5, proto=6, tcp_flags=0x01, rule_action=DEL))
        data = pkt(p, 0, b"data", proto=6)                  # flags PSH|ACK
        fin = bytearray(pkt(p, 1, b"", proto=6))
        fin[14 + 20 + 13] |= 0x01                           # PSH|ACK|FIN
        other = pkt(p, 2, b"x", proto=6, sport=1001)        # no hash rule: FIN-less, forwarded
        assert run(p, ring, [data, bytes(fin), other]) == [1, 2]
        assert run(p, ring, [pkt(p, 3, b"data", proto=6)], enable=False) == [3]
        st = ring.rule_stats(5)
        assert (st.match, st.match_forward, st.hash_rules_deleted) == (1, 1, 1)
        assert ring.rule_stats(1).match == 0
        assert hash_rules_in_status(ring, 0) == 0
        with pytest.raises(PFRingError, match="is not a hash filtering rule"):
            ring.hash_rule_stats(flow(proto=6))


def test_del_rule_without_a_hash_rule_forwards_and_counts_the_match(veth_pair):
    p = veth_pair
    arp = arp_frame(p, 9)
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, rule_action=DEL))
        assert run(p, ring, [pkt(p, 0), pkt(p, 1, proto=6), arp]) == [0, 1, 9]
        st = ring.rule_stats(1)
        assert (st.match, st.match_forward, st.hash_rules_deleted) == (3, 3, 0)
        assert hash_rules_in_status(ring, 0) == 0
        # The user's hash rules on other flows stay.
        ring.add_hash_rule(flow(sport=1111))
        assert run(p, ring, [pkt(p, 2)], enable=False) == [2]
        assert ring.hash_rule_stats(flow(sport=1111)).match == 0
        assert hash_rules_in_status(ring, 1) == 1


@pytest.mark.parametrize("action, verb", [(ADD, "adds"), (DEL, "removes")])
def test_hash_rules_refuse_the_add_and_delete_actions(veth_pair, action, verb):
    with open_ring(veth_pair) as ring:
        ring.add_hash_rule(flow(sport=7))
        with pytest.raises(InvalidArgumentError, match=f"rule_action {action_name(action)} is "
                                                       f"for wildcard rules \\(it {verb} hash"):
            ring.add_hash_rule(HashRule(host_peer_a="10.0.0.1", host_peer_b="10.0.0.2",
                                        rule_action=action))
        assert ring.hash_rule_stats(flow(sport=7)).match == 0     # the others stay
        assert hash_rules_in_status(ring, 1) == 1


def action_name(action):
    return {ADD: "forward_packet_add_rule_and_stop_rule_evaluation",
            DEL: "forward_packet_del_rule_and_stop_rule_evaluation"}[action]


def test_a_refused_reflect_rule_leaves_the_add_rule_action_working(veth_pair):
    with open_ring(veth_pair) as ring:
        with pytest.raises(InvalidArgumentError, match="reflector device 'gone0' does not exist"):
            ring.add_rule(Rule(rule_id=1, rule_action=RuleAction.REFLECT_AND_STOP,
                               reflector_device_name="gone0"))
        ring.add_rule(Rule(rule_id=1, rule_action=ADD))
        assert ring.rule_stats(1).match == 0
