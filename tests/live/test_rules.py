"""Filtering rules in the kernel (pfring_add_filtering_rule and friends).

Known frames go from namespace b through a veth pair to a ring in namespace
a; each frame carries a serial, and every test asserts exactly which serials
reached the ring (and, for the stats, the exact counters).  The frames are
sent raw (AF_PACKET), to addresses no interface has, so the stacks of the
namespaces add nothing; the rings take the received direction only.
"""
import struct

import pytest

from pcap_pfring import Direction
from pcap_pfring.errors import PFRingError
from pcap_pfring.rules import MAX_RULES, Rule, RuleAction
from pcap_pfring.testing.fixtures import drain, frame, send_frames, send_from_b
from pcap_pfring.testing.serials import MARK, open_ring, packet, serials

pytestmark = pytest.mark.needs_root

MAC_X = bytes.fromhex("02aa00000001")


def run(pair, ring, frames, enable=True):
    """Sends frames; returns the serials that reached ring."""
    if enable:
        ring.enable()
    send_from_b(pair, frames)
    return serials(drain(ring, quiet=0.4))


# -- each core field ---------------------------------------------------------

def test_no_rules_every_frame_and_drop_policy_none(veth_pair):
    frames = [packet(veth_pair, i) for i in range(5)]
    with open_ring(veth_pair) as ring:
        assert run(veth_pair, ring, frames) == [0, 1, 2, 3, 4]
        ring.set_policy(False)
        assert run(veth_pair, ring, frames, enable=False) == []
        ring.set_policy(True)
        assert run(veth_pair, ring, frames, enable=False) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("rule, wanted", [
    (Rule(proto=6), [1]),
    (Rule(proto=17), [0, 2, 3, 4, 5, 6, 7]),
    (Rule(shost="10.1.0.1"), [0, 1, 3, 4, 5]),
    (Rule(shost="10.1.0.0/16"), [0, 1, 2, 3, 4, 5]),
    (Rule(shost="10.1.0.0", shost_mask="255.255.255.0"), [0, 1, 3, 4, 5]),
    (Rule(dhost="10.2.0.9"), [3]),
    (Rule(sport=(1000, 1001)), [0, 1, 2, 3, 4, 5, 6, 7]),
    (Rule(sport=1001), [4]),
    (Rule(dport=(2000, 2005)), [0, 1, 2, 3, 4, 6, 7]),
    (Rule(dport=(2006, 65535)), [5]),
    (Rule(vlan_id=7), [6]),
    (Rule(smac="02:aa:00:00:00:01"), [7]),
    (Rule(eth_type=0x86DD), []),
    (Rule(shost="10.1.0.1", dport=(2000, 2000), proto=17), [0, 3, 4]),
])
def test_ipv4_core_fields(veth_pair, rule, wanted):
    p = veth_pair
    frames = [
        packet(p, 0),
        packet(p, 1, proto=6),
        packet(p, 2, src="10.1.7.7"),
        packet(p, 3, dst="10.2.0.9"),
        packet(p, 4, sport=1001),
        packet(p, 5, dport=2006),
        packet(p, 6, src="10.9.0.1", vlan=7),
        packet(p, 7, src="10.8.0.1", smac=MAC_X),
    ]
    with open_ring(p) as ring:
        ring.set_policy(False)
        rule.rule_id = 1
        assert ring.add_rule(rule) == 1
        assert run(p, ring, frames) == wanted


def test_ipv6_hosts_masks_and_ports(veth_pair):
    p = veth_pair
    frames = [
        packet(p, 0, src="2001:db8:1::1", dst="2001:db8:2::1"),
        packet(p, 1, src="2001:db8:1::2", dst="2001:db8:2::1", proto=6, dport=443),
        packet(p, 2, src="2001:db8:9::1", dst="2001:db8:2::1"),
        packet(p, 3, src="10.1.0.1", dst="10.2.0.1"),      # IPv4: no IPv6 rule matches it
        packet(p, 4, src="2001:db8:1::1", dst="2001:db8:2::1", vlan=12),
    ]
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=5, shost="2001:db8:1::/48", dport=(400, 500)))
        ring.add_rule(Rule(rule_id=6, dhost="2001:db8:2::1", vlan_id=12))
        ring.add_rule(Rule(rule_id=7, shost="2001:db8:9::", shost_mask="ffff:ffff:ffff::"))
        assert run(p, ring, frames) == [1, 2, 4]
        assert ring.rule_stats(5).match == 1
        assert ring.rule_stats(6).match == 1
        assert ring.rule_stats(7).match == 1


def test_vlan_tagged_frames_match_by_vlan_and_inner_fields(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, vlan=10), packet(p, 1, vlan=11), packet(p, 2),
              packet(p, 3, vlan=10, proto=6)]
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, vlan_id=10, proto=17))
        assert run(p, ring, frames) == [0]


# -- bidirectional, order, continue and stop ------------------------------------

def test_bidirectional_swaps_source_and_destination(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, src="10.1.0.1", dst="10.2.0.1", sport=1000, dport=2000),
              packet(p, 1, src="10.2.0.1", dst="10.1.0.1", sport=2000, dport=1000),
              packet(p, 2, src="10.2.0.1", dst="10.1.0.1", sport=2001, dport=1000)]
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, shost="10.1.0.1", dhost="10.2.0.1", sport=1000,
                           dport=2000, bidirectional=True))
        assert run(p, ring, frames) == [0, 1]
        ring.remove_rule(1)
        ring.add_rule(Rule(rule_id=1, shost="10.1.0.1", dhost="10.2.0.1", sport=1000,
                           dport=2000))
        assert run(p, ring, frames, enable=False) == [0]


def test_rules_run_in_ascending_id_order_and_stop(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, proto=6), packet(p, 1, proto=17)]
    with open_ring(p) as ring:
        # Added out of order: 20 forwards TCP, 10 drops everything.  10 runs first.
        ring.add_rule(Rule(rule_id=20, proto=6))
        ring.add_rule(Rule(rule_id=10, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert run(p, ring, frames) == []
        assert ring.rule_stats(10).match == 2
        assert ring.rule_stats(20).match == 0
        ring.remove_rule(10)
        ring.add_rule(Rule(rule_id=30, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert run(p, ring, frames, enable=False) == [0]
        assert ring.rule_stats(20).match == 1
        assert ring.rule_stats(30).match == 1


def test_execute_and_continue_counts_and_goes_on(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, proto=6), packet(p, 1, proto=17), packet(p, 2, proto=17, sport=7)]
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, rule_action=RuleAction.EXECUTE_AND_CONTINUE))
        ring.add_rule(Rule(rule_id=2, proto=17, rule_action=RuleAction.EXECUTE_AND_STOP))
        ring.add_rule(Rule(rule_id=3, sport=7))
        ring.add_rule(Rule(rule_id=4, proto=6))
        # 0: 1 continues, 2 does not match, 4 forwards.  1, 2: 2 stops; the policy drops.
        assert run(p, ring, frames) == [0]
        assert [ring.rule_stats(i).match for i in (1, 2, 3, 4)] == [3, 2, 0, 1]


def test_policy_toggle_with_rules(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, proto=6), packet(p, 1, proto=17)]
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert run(p, ring, frames) == [1]
        ring.set_policy(False)
        assert run(p, ring, frames, enable=False) == []
        ring.remove_rule(1)
        ring.add_rule(Rule(rule_id=1, proto=6))
        assert run(p, ring, frames, enable=False) == [0]
        ring.set_policy(True)
        assert run(p, ring, frames, enable=False) == [0, 1]


def test_exact_stats(veth_pair):
    p = veth_pair
    frames = [packet(p, i, proto=6 if i % 3 == 0 else 17) for i in range(10)]
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        ring.add_rule(Rule(rule_id=2, proto=17))
        got = run(p, ring, frames)
        assert got == [i for i in range(10) if i % 3]
        tcp, udp = ring.rule_stats(1), ring.rule_stats(2)
        assert (tcp.match, tcp.filtered, tcp.match_forward) == (4, 4, 0)
        assert tcp.match_bytes == sum(len(f) for f in frames[::3])
        assert (udp.match, udp.filtered, udp.match_forward) == (6, 0, 6)
        assert udp.match_bytes == sum(len(f) for i, f in enumerate(frames) if i % 3)
        assert udp.last_match_ns > 0 and udp.inactivity <= 1
        # The counters go on while other rules come and go.
        ring.add_rule(Rule(rule_id=3, proto=99))
        ring.remove_rule(3)
        run(p, ring, frames, enable=False)
        assert ring.rule_stats(2).match == 12
        # Removed and added again: from zero.
        ring.remove_rule(2)
        ring.add_rule(Rule(rule_id=2, proto=17))
        assert ring.rule_stats(2).match == 0


def test_two_rings_on_one_device_have_their_own_rules(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, proto=6), packet(p, 1, proto=17), packet(p, 2, proto=1)]
    with open_ring(p) as r1, open_ring(p) as r2, open_ring(p) as plain:
        r1.set_policy(False)
        r1.add_rule(Rule(rule_id=1, proto=6))
        r2.add_rule(Rule(rule_id=1, proto=6, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        for r in (r1, r2, plain):
            r.enable()
        send_from_b(p, frames)
        assert serials(drain(r1)) == [0]
        assert serials(drain(r2)) == [1, 2]
        assert serials(drain(plain)) == [0, 1, 2]
        assert r1.rule_stats(1).match == 1 and r2.rule_stats(1).match == 1


def test_rules_with_a_bpf_expression(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, proto=6, dport=80), packet(p, 1, proto=17, dport=80),
              packet(p, 2, proto=17, dport=53), packet(p, 3, proto=6, dport=53)]
    with open_ring(p) as ring:
        ring.set_bpf_filter("port 80")
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert run(p, ring, frames) == [1]
        assert ring.rule_stats(1).match == 1      # the BPF filter ran first
        ring.remove_bpf_filter()
        assert run(p, ring, frames, enable=False) == [1, 2]
        ring.set_bpf_filter("udp")
        ring.remove_rule(1)
        assert run(p, ring, frames, enable=False) == [1, 2]


def test_rules_survive_disable_and_enable(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, proto=6), packet(p, 1, proto=17)]
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert run(p, ring, frames) == [1]
        ring.disable()
        send_from_b(p, frames)
        ring.enable()
        assert serials(drain(ring)) == []        # nothing while disabled
        assert run(p, ring, frames, enable=False) == [1]


def test_purge_idle_keeps_locked_and_recent_rules(veth_pair):
    import time
    p = veth_pair
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=6))
        ring.add_rule(Rule(rule_id=2, proto=17, locked=True))
        ring.add_rule(Rule(rule_id=3, proto=1))
        assert ring.purge_idle_rules(60) == 0
        time.sleep(1.2)
        run(p, ring, [packet(p, 0, proto=1)])    # rule 3 matched just now
        assert ring.purge_idle_rules(1) == 1     # rule 1 only
        with pytest.raises(PFRingError, match="rule_id 1 is not a filtering rule"):
            ring.rule_stats(1)
        assert ring.rule_stats(2).match == 0
        assert ring.rule_stats(3).match == 1
        time.sleep(1.2)
        assert ring.purge_idle_rules(1) == 1     # now rule 3; locked 2 stays
        ring.rule_stats(2)


# -- errors: a clear message and the old rules intact ---------------------------

def _still_filters(p, ring):
    assert run(p, ring, [packet(p, 0, proto=6), packet(p, 1, proto=17)], enable=False) == [1]


@pytest.mark.parametrize("bad, message", [
    (Rule(rule_id=1, proto=17), "rule_id 1 is already a filtering rule"),
    (Rule(rule_id=2, sport=(2000, 1000)), "inverted port range: core_fields.sport_low 2000 > "
                                          "core_fields.sport_high 1000"),
    (Rule(rule_id=2, dport=(10, 0)), "core_fields.dport_low 10 without core_fields.dport_high"),
    (Rule(rule_id=2, shost="10.0.0.0", shost_mask="255.0.255.0"),
     "core_fields.shost_mask 255.0.255.0 is not a contiguous mask"),
    (Rule(rule_id=2, dhost="2001:db8::", dhost_mask="ffff::ff"),
     "core_fields.dhost_mask ffff::ff is not a contiguous mask"),
    (Rule(rule_id=2, shost="10.0.0.1", shost_mask="255.0.0.0"),
     "core_fields.shost 10.0.0.1 has bits outside core_fields.shost_mask"),
    (Rule(rule_id=2, vlan_id=5000), "core_fields.vlan_id 5000 is out of range"),
    (Rule(rule_id=2, rule_action=RuleAction.REFLECT_AND_STOP),
     "filtering rule 2: a reflect action needs a reflector_device_name"),
    (Rule(rule_id=2, rule_action=RuleAction.REFLECT_AND_STOP, reflector_device_name="veth0"),
     "reflector device 'veth0' is a capture device of the ring"),
])
def test_bad_rules_are_refused_and_the_rules_stay(veth_pair, bad, message):
    p = veth_pair
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        ring.enable()
        with pytest.raises(PFRingError, match=message):
            ring.add_rule(bad)
        _still_filters(p, ring)
        assert ring.rule_stats(1).match == 1
        with pytest.raises(PFRingError, match="rule_id 2 is not a filtering rule"):
            ring.rule_stats(2)


def test_remove_missing_and_too_many_rules(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=0, proto=6, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        ring.enable()
        with pytest.raises(PFRingError, match="rule_id 9 is not a filtering rule of 'veth0'"):
            ring.remove_rule(9)
        for i in range(1, MAX_RULES):
            ring.add_rule(Rule(rule_id=i, proto=200))
        with pytest.raises(PFRingError, match=f"already has {MAX_RULES} filtering rules"):
            ring.add_rule(Rule(rule_id=MAX_RULES, proto=200))
        _still_filters(p, ring)
        for i in range(1, MAX_RULES):
            ring.remove_rule(i)
        assert ring.add_rule(Rule()) == 1        # the lowest free id
        _still_filters(p, ring)


def test_rules_on_a_closed_ring(veth_pair):
    ring = open_ring(veth_pair)
    ring.add_rule(Rule(rule_id=1, proto=6))
    ring.close()
    for call in (lambda: ring.add_rule(Rule(rule_id=2)), lambda: ring.remove_rule(1),
                 lambda: ring.rule_stats(1), lambda: ring.set_policy(False),
                 lambda: ring.purge_idle_rules(1)):
        with pytest.raises(PFRingError, match="ring used after close"):
            call()


def test_bad_python_arguments(veth_pair):
    with open_ring(veth_pair) as ring:
        with pytest.raises(TypeError, match="rule must be a pcap_pfring.rules.Rule"):
            ring.add_rule({"proto": 6})
        with pytest.raises(TypeError, match="accept must be a bool"):
            ring.set_policy(1)
        with pytest.raises(PFRingError, match="rule_id 70000 is out of range"):
            ring.remove_rule(70000)
        with pytest.raises(PFRingError, match="shost '10.0.0.300' is not an IPv4 or IPv6"):
            ring.add_rule(Rule(shost="10.0.0.300"))
        with pytest.raises(PFRingError, match="shost and dhost must be of one IP version"):
            ring.add_rule(Rule(shost="10.0.0.1", dhost="::1"))


# -- rule changes are cheap: map contents, not a new program ---------------------

def test_rule_changes_do_not_reload_the_program(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, proto=6), packet(p, 1, proto=17, dport=2063),
              packet(p, 2, proto=17, dport=1999)]
    with open_ring(p) as ring:
        ring.enable()
        assert ring.rules_program_loads() == 0
        ring.add_rule(Rule(rule_id=0, proto=6, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert ring.rules_program_loads() == 1
        for i in range(1, 64):
            ring.add_rule(Rule(rule_id=i, proto=17, dport=2000 + i,
                               rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        ring.set_policy(False)
        ring.set_policy(True)
        with pytest.raises(PFRingError, match="rule_id 5 is already a filtering rule"):
            ring.add_rule(Rule(rule_id=5))
        assert ring.rules_program_loads() == 1       # 64 adds, two toggles: one load
        assert run(p, ring, frames, enable=False) == [2]
        assert ring.rule_stats(63).match == 1
        for i in range(1, 64):
            ring.remove_rule(i)
        assert run(p, ring, frames, enable=False) == [1, 2]
        assert ring.rules_program_loads() == 1
        # A new classic filter is a new program, and the rules go with it.
        ring.set_bpf_filter("udp")
        assert ring.rules_program_loads() == 2
        assert run(p, ring, frames, enable=False) == [1, 2]
        ring.add_rule(Rule(rule_id=1, dport=1999, rule_action=RuleAction.DONT_FORWARD_AND_STOP))
        assert ring.rules_program_loads() == 2
        assert run(p, ring, frames, enable=False) == [1]


# -- the balance pool -------------------------------------------------------------

def pool_member(f, pool):
    """The pool member of a received frame: the cluster_per_flow hash % pool
    (the reference model of kernel/cluster.c)."""
    from pcap_pfring.testing.cluster_ref import member, received
    data, tci = received(f)
    return member(0, data, pool, tci)


def test_balance_pool_gives_each_member_exactly_its_share(veth_pair):
    p = veth_pair
    frames = []
    for i in range(24):
        frames.append(packet(p, len(frames), src=f"10.1.{i}.{i * 7 % 250 + 1}",
                             sport=1000 + 13 * i, dport=2000 + i % 5,
                             proto=(17, 6, 132, 1)[i % 4], vlan=(None, 9)[i % 3 == 0]))
    for i in range(6):
        frames.append(packet(p, len(frames), src=f"2001:db8::{i + 1:x}", dst="2001:db8:9::1",
                             sport=40000 + i, dport=443, proto=6))
    for i in range(4):          # the reverse direction of flows above: the same member
        frames.append(packet(p, len(frames), src="10.2.0.1", dst=f"10.1.{i}.{i * 7 % 250 + 1}",
                             sport=2000 + i % 5, dport=1000 + 13 * i, proto=(17, 6, 132, 1)[i % 4],
                             vlan=(None, 9)[i % 3 == 0]))
    frames.append(frame(p.mac_a, p.mac_b, 0x88B5, MARK + struct.pack("!I", len(frames)) +
                        b"." * 40))                                  # not IP: hash 0
    pool = 3
    want = [[] for _ in range(pool)]
    for serial, f in enumerate(frames):
        want[pool_member(f, pool)].append(serial)
    assert all(want), want                                          # every member has a share
    assert [m for m in range(pool) if len(frames) - 1 in want[m]] == [0]
    rings = [open_ring(p) for _ in range(pool)]
    try:
        for i, ring in enumerate(rings):
            ring.set_policy(False)
            ring.add_rule(Rule(rule_id=1, balance_id=i, balance_pool=pool))
            ring.enable()
        send_from_b(p, frames)
        got = [serials(drain(ring)) for ring in rings]
        assert got == want
        assert [ring.rule_stats(1).match for ring in rings] == [len(w) for w in want]
        for i in range(4):      # both directions of a flow: one member
            assert [m for m in range(pool) if i in want[m]] == \
                [m for m in range(pool) if 30 + i in want[m]]
    finally:
        for ring in rings:
            ring.close()


def test_balance_pool_with_other_fields_and_errors(veth_pair):
    p = veth_pair
    frames = [packet(p, i, src=f"10.1.0.{i + 1}", proto=(6, 17)[i % 2]) for i in range(12)]
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, proto=6, balance_id=1, balance_pool=2))
        want = [i for i, f in enumerate(frames) if i % 2 == 0 and pool_member(f, 2) == 1]
        assert 0 < len(want) < 6                  # the pool splits the TCP frames
        assert run(p, ring, frames) == want
        with pytest.raises(PFRingError, match="balance_id 2 is not below balance_pool 2"):
            ring.add_rule(Rule(rule_id=2, balance_id=2, balance_pool=2))
        with pytest.raises(PFRingError, match="balance_id 1 without a balance_pool"):
            ring.add_rule(Rule(rule_id=2, balance_id=1))
        assert run(p, ring, frames, enable=False) == want


# -- the ring's classic filter in front of the rules ----------------------------

@pytest.mark.parametrize("bpf", [None, "udp or tcp"])
@pytest.mark.parametrize("direction, wanted", [
    (Direction.RX_ONLY, [0, 1]),
    (Direction.TX_ONLY, [10, 11]),
    (Direction.RX_AND_TX, [0, 1, 10, 11]),
])
def test_direction_before_the_rules(veth_pair, direction, wanted, bpf):
    """The direction check runs before the rules, natively in the rules
    program for the plain forms and in its interpreter with a BPF
    expression: each direction gets exactly its frames."""
    p = veth_pair
    rx = [packet(p, i) for i in range(3)]
    tx = [packet(p, 10 + i, dmac=p.mac_b, smac=p.mac_a) for i in range(3)]
    rx[2] = packet(p, 2, proto=6)
    tx[2] = packet(p, 12, proto=6, dmac=p.mac_b, smac=p.mac_a)
    with open_ring(p) as ring:
        ring.set_direction(direction)
        if bpf:
            ring.set_bpf_filter(bpf)
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, proto=17))
        ring.enable()
        send_from_b(p, rx)
        send_frames(p.a, p.if_a, tx)
        assert sorted(serials(drain(ring, quiet=0.4))) == wanted
        assert ring.rule_stats(1).match == len(wanted)
