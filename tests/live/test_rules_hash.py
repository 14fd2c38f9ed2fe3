"""Hash filtering rules (pfring_handle_hash_filtering_rule and friends).

The same setup as test_rules.py (its frame builder and helpers): known
frames with serials go from namespace b to a ring in namespace a, and each
test asserts exactly which serials reached the ring and the exact counters.
"""
import time

import pytest
from test_rules import open_ring, packet, run

from pcap_pfring.errors import PFRingError
from pcap_pfring.rules import MAX_HASH_RULES, HashRule, Rule, RuleAction

pytestmark = pytest.mark.needs_root

FWD, DROP = RuleAction.FORWARD_AND_STOP, RuleAction.DONT_FORWARD_AND_STOP


def udp_flow(**kw):
    return HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", port_peer_a=1000,
                    port_peer_b=2000, proto=17, **kw)


def flow_frames(p, src="10.1.0.1", dst="10.2.0.1", other="10.2.0.7", vlan=None):
    """0: a->b, 1: b->a, 2: another port, 3: TCP, 4: another host."""
    return [packet(p, 0, src=src, dst=dst, sport=1000, dport=2000, vlan=vlan),
            packet(p, 1, src=dst, dst=src, sport=2000, dport=1000, vlan=vlan),
            packet(p, 2, src=src, dst=dst, sport=1000, dport=2001, vlan=vlan),
            packet(p, 3, src=src, dst=dst, sport=1000, dport=2000, proto=6, vlan=vlan),
            packet(p, 4, src=src, dst=other, sport=1000, dport=2000, vlan=vlan)]


def test_ipv4_flow_in_both_directions(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_hash_rule(udp_flow())
        assert run(p, ring, flow_frames(p)) == [0, 1]
        st = ring.hash_rule_stats(udp_flow())
        assert (st.match, st.filtered, st.match_forward) == (2, 0, 2)
        # Found by the flow either way round.
        swapped = HashRule(host_peer_a="10.2.0.1", host_peer_b="10.1.0.1", port_peer_a=2000,
                           port_peer_b=1000, proto=17)
        assert ring.hash_rule_stats(swapped).match == 2


def test_ipv6_flow_in_both_directions(veth_pair):
    p = veth_pair
    rule = HashRule(host_peer_a="2001:db8:1::1", host_peer_b="2001:db8:2::1",
                    port_peer_a=1000, port_peer_b=2000, proto=17)
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_hash_rule(rule)
        frames = flow_frames(p, src="2001:db8:1::1", dst="2001:db8:2::1", other="2001:db8:2::7")
        frames.append(packet(p, 5))                   # the IPv4 flow of the same ports
        assert run(p, ring, frames) == [0, 1]
        assert ring.hash_rule_stats(rule).match == 2


def test_vlan_must_match_exactly(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_hash_rule(udp_flow(vlan_id=7))
        frames = [packet(p, 0, vlan=7), packet(p, 1, src="10.2.0.1", dst="10.1.0.1",
                                                 sport=2000, dport=1000, vlan=7),
                  packet(p, 2), packet(p, 3, vlan=8)]
        assert run(p, ring, frames) == [0, 1]
        ring.add_hash_rule(udp_flow())                # vlan 0: untagged only
        assert run(p, ring, frames, enable=False) == [0, 1, 2]


def test_actions_and_stats(veth_pair):
    p = veth_pair
    frames = flow_frames(p)
    with open_ring(p) as ring:
        ring.add_hash_rule(udp_flow(rule_action=DROP))
        assert run(p, ring, frames) == [2, 3, 4]
        st = ring.hash_rule_stats(udp_flow())
        assert (st.match, st.filtered, st.match_forward) == (2, 2, 0)
        assert st.match_bytes == len(frames[0]) + len(frames[1])
        assert st.last_match_ns > 0 and st.inactivity <= 1
        # Execute: counted, and the policy decides (the wildcard rules do not run).
        ring.remove_hash_rule(udp_flow())
        ring.add_hash_rule(udp_flow(rule_action=RuleAction.EXECUTE_AND_CONTINUE))
        ring.add_rule(Rule(rule_id=1, proto=17, rule_action=DROP))
        assert run(p, ring, frames, enable=False) == [0, 1, 3]
        ring.set_policy(False)
        assert run(p, ring, frames, enable=False) == []
        st = ring.hash_rule_stats(udp_flow())
        assert (st.match, st.filtered, st.match_forward) == (4, 0, 0)
        assert ring.rule_stats(1).match == 4          # frames 2 and 4, twice


def test_hash_rules_run_before_wildcard_rules(veth_pair):
    p = veth_pair
    frames = flow_frames(p)
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, rule_action=DROP))        # drops everything
        ring.add_hash_rule(udp_flow())
        assert run(p, ring, frames) == [0, 1]
        assert ring.rule_stats(1).match == 3
        ring.remove_rule(1)
        ring.add_rule(Rule(rule_id=1))                          # forwards everything
        ring.remove_hash_rule(udp_flow())
        ring.add_hash_rule(udp_flow(rule_action=DROP))
        ring.set_policy(False)
        assert run(p, ring, frames, enable=False) == [2, 3, 4]
        assert ring.rule_stats(1).match == 3          # re-added: from zero


def test_hash_rule_changes_load_no_program(veth_pair):
    p = veth_pair
    frames = flow_frames(p)
    with open_ring(p) as ring:
        ring.enable()
        for i in range(100):
            ring.add_hash_rule(HashRule(host_peer_a="10.9.0.1", host_peer_b=f"10.9.1.{i}",
                                        proto=17, port_peer_a=1, port_peer_b=2))
        ring.add_hash_rule(udp_flow(rule_action=DROP))
        assert ring.rules_program_loads() == 1        # the first hash rule only
        assert run(p, ring, frames, enable=False) == [2, 3, 4]
        ring.remove_hash_rule(udp_flow())
        assert run(p, ring, frames, enable=False) == [0, 1, 2, 3, 4]
        for i in range(100):
            ring.remove_hash_rule(HashRule(host_peer_a="10.9.0.1", host_peer_b=f"10.9.1.{i}",
                                           proto=17, port_peer_a=1, port_peer_b=2))
        assert ring.rules_program_loads() == 1
        assert run(p, ring, frames, enable=False) == [0, 1, 2, 3, 4]


def test_purge_idle_hash_rules(veth_pair):
    p = veth_pair
    other = HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", proto=1)
    with open_ring(p) as ring:
        ring.add_hash_rule(udp_flow())
        ring.add_hash_rule(other)
        assert ring.purge_idle_hash_rules(60) == 0
        time.sleep(1.2)
        assert run(p, ring, [packet(p, 0)]) == [0]    # the UDP flow matched just now
        assert ring.purge_idle_hash_rules(1) == 1     # the other one only
        with pytest.raises(PFRingError, match="is not a hash filtering rule of 'veth0'"):
            ring.hash_rule_stats(other)
        assert ring.hash_rule_stats(udp_flow()).match == 1
        time.sleep(1.2)
        assert ring.purge_idle_hash_rules(1) == 1
        assert ring.purge_idle_hash_rules(0) == 0


# -- errors: a clear message and the old rules intact ---------------------------

def _still_filters(p, ring):
    assert run(p, ring, flow_frames(p), enable=False) == [2, 3, 4]


@pytest.mark.parametrize("bad, message", [
    (udp_flow(), r"the hash rule \(vlan_id 0, proto 17, 10.1.0.1 port 1000 <-> 10.2.0.1 "
                 r"port 2000\) is already a hash filtering rule of 'veth0'"),
    (HashRule(host_peer_a="10.2.0.1", host_peer_b="10.1.0.1", port_peer_a=2000,
              port_peer_b=1000, proto=17), "is already a hash filtering rule"),
    (udp_flow(ip_version=5), "ip_version 5 is not 4 or 6"),
    (udp_flow(vlan_id=5000), "vlan_id 5000 is out of range"),
    (udp_flow(vlan_id=1, rule_action=RuleAction.REFLECT_AND_STOP, reflector_device_name="nope"),
     r"port 2000\): reflector device 'nope' does not exist"),
    (HashRule(host_peer_a="0.0.0.0", host_peer_b="10.2.0.1"), "host_peer_a is not set"),
])
def test_bad_hash_rules_are_refused_and_the_rules_stay(veth_pair, bad, message):
    p = veth_pair
    with open_ring(p) as ring:
        ring.add_hash_rule(udp_flow(rule_action=DROP))
        ring.enable()
        with pytest.raises(PFRingError, match=message):
            ring.add_hash_rule(bad)
        _still_filters(p, ring)
        assert ring.hash_rule_stats(udp_flow()).match == 2


def test_missing_and_too_many_hash_rules(veth_pair):
    p = veth_pair
    with open_ring(p) as ring:
        ring.add_hash_rule(udp_flow(rule_action=DROP))
        ring.enable()
        missing = udp_flow(vlan_id=9)
        with pytest.raises(PFRingError, match=r"the hash rule \(vlan_id 9, .*\) is not a hash "
                                              "filtering rule of 'veth0'"):
            ring.remove_hash_rule(missing)
        with pytest.raises(PFRingError, match="is not a hash filtering rule"):
            ring.hash_rule_stats(missing)
        for i in range(1, MAX_HASH_RULES):
            ring.add_hash_rule(HashRule(host_peer_a="10.9.0.1",
                                        host_peer_b=f"10.{100 + i // 65536}.{i // 256 % 256}"
                                                    f".{i % 256}", proto=17))
        with pytest.raises(PFRingError, match=f"already has {MAX_HASH_RULES} hash filtering "
                                              "rules"):
            ring.add_hash_rule(HashRule(host_peer_a="10.9.0.1", host_peer_b="10.9.9.9"))
        _still_filters(p, ring)
        assert ring.purge_idle_hash_rules(0) == MAX_HASH_RULES
        assert run(p, ring, flow_frames(p), enable=False) == [0, 1, 2, 3, 4]


def test_hash_rules_on_a_closed_ring_and_bad_python_arguments(veth_pair):
    ring = open_ring(veth_pair)
    with ring:
        with pytest.raises(TypeError, match="rule must be a pcap_pfring.rules.HashRule"):
            ring.add_hash_rule(Rule())
        with pytest.raises(PFRingError, match="host_peer_a and host_peer_b must be of one IP"):
            ring.add_hash_rule(HashRule(host_peer_a="10.0.0.1", host_peer_b="::2"))
        with pytest.raises(PFRingError, match="host_peer_b '10.0.0.0/8': a hash rule takes one"):
            ring.add_hash_rule(HashRule(host_peer_a="10.0.0.1", host_peer_b="10.0.0.0/8"))
        with pytest.raises(PFRingError, match="port_peer_a 70000 is out of range"):
            ring.add_hash_rule(HashRule(host_peer_a="10.0.0.1", host_peer_b="10.0.0.2",
                                        port_peer_a=70000))
        ring.add_hash_rule(udp_flow())
    for call in (lambda: ring.add_hash_rule(udp_flow(vlan_id=2)),
                 lambda: ring.remove_hash_rule(udp_flow()),
                 lambda: ring.hash_rule_stats(udp_flow()),
                 lambda: ring.purge_idle_hash_rules(1)):
        with pytest.raises(PFRingError, match="ring used after close"):
            call()


def test_the_status_tree_counts_the_rules(veth_pair):
    from pcap_pfring import status
    with open_ring(veth_pair) as ring:
        ring.add_rule(Rule(rule_id=1))
        ring.add_rule(Rule(rule_id=2, rule_action=DROP))
        ring.add_hash_rule(udp_flow())
        status.refresh()
        mine = [r for r in status.list_rings() if r.ring_id == ring.ring_id]
        assert [(r.fields["Sw Filt WC Rules"], r.fields["Sw Filt Hash Rules"]) for r in mine] == \
            [("2", "1")]
        ring.remove_rule(2)
        ring.remove_hash_rule(udp_flow())
        status.refresh()
        mine = [r for r in status.list_rings() if r.ring_id == ring.ring_id]
        assert [(r.fields["Sw Filt WC Rules"], r.fields["Sw Filt Hash Rules"]) for r in mine] == \
            [("1", "0")]
