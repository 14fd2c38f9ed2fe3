"""More filtering-rule paths: MAC fields, the host stack under a drop rule,
the ring's counters, sampling and clusters, hash rules that execute or
bounce, reflecting tagged and IPv6 frames, VLAN and multi-device rings,
disabled rings and the C return codes.

The setup of test_rules.py: frames with serials go from namespace b to an
RX-only ring in namespace a, and every test asserts exactly which frames
reached the ring (byte for byte where it matters), what went out of an
interface, and the exact counters.  Reflected copies go out of rf0 (a
second veth link, rf0 in a <-> rf1 in b) and bounced ones back out of the
device they came in on; RX-only rings in namespace b take them.
"""
import socket
import struct
import time

import pytest
from test_rules import MAC_X, run
from test_rules_reflect import swapped, watcher

from pcap_pfring import ClusterType, Direction, Ring
from pcap_pfring._ffi import ffi, lib
from pcap_pfring.errors import InvalidArgumentError, NotSupportedError, PFRingError
from pcap_pfring.ring import KernelStats, Stats
from pcap_pfring.rules import HashRule, Rule, RuleAction
from pcap_pfring.testing.cluster_ref import member, received
from pcap_pfring.testing.compat import checksum
from pcap_pfring.testing.fixtures import drain, frame, send_frames, send_from_b
from pcap_pfring.testing.serials import open_ring, packet, serials

pytestmark = pytest.mark.needs_root

FWD = RuleAction.FORWARD_AND_STOP
DROP = RuleAction.DONT_FORWARD_AND_STOP
EXEC_CONT = RuleAction.EXECUTE_AND_CONTINUE
EXEC_STOP = RuleAction.EXECUTE_AND_STOP
REFLECT = RuleAction.REFLECT_AND_STOP
BOUNCE = RuleAction.BOUNCE_AND_STOP
BOUNCE_CONT = RuleAction.BOUNCE_AND_CONTINUE

MAC_Y = bytes.fromhex("02bb00000002")
MAC_Z = bytes.fromhex("02cc00000003")
BCAST = b"\xff" * 6
INVAL = lib.PF_RING_ERROR_INVALID_ARGUMENT


def mac_text(mac):
    return ":".join(f"{b:02x}" for b in mac)


def wait_for(what, want, timeout=5.0):
    """what() once it equals want, or its value after timeout seconds (the
    caller asserts it): a bounded wait for the kernel to deliver frames."""
    deadline = time.monotonic() + timeout
    got = what()
    while got != want and time.monotonic() < deadline:
        time.sleep(0.02)
        got = what()
    return got


def frames_of(ring, quiet=0.4):
    return [d for _, d in drain(ring, quiet=quiet)]


@pytest.fixture
def pair(veth_pair):
    """The veth pair with a second link, rf0 (a) <-> rf1 (b)."""
    veth_pair.add_link("rf0", "rf1")
    return veth_pair


def ifindex(ns, name):
    return int(ns.run(["cat", f"/sys/class/net/{name}/ifindex"]).stdout)


# -- 1. the MAC fields -----------------------------------------------------------

def dmac_frames(p):
    return [packet(p, 0),                                   # to veth0's own MAC
            packet(p, 1, dmac=MAC_Y),
            packet(p, 2, dmac=BCAST),
            packet(p, 3, dmac=MAC_Y, smac=MAC_X),
            packet(p, 4, dmac=MAC_Y, proto=6),
            packet(p, 5, dmac=MAC_Z)]


@pytest.mark.parametrize("make_rule, wanted", [
    (lambda p: Rule(dmac=mac_text(MAC_Y)), [1, 3, 4]),
    (lambda p: Rule(dmac=mac_text(p.mac_a)), [0]),
    (lambda p: Rule(dmac="ff:ff:ff:ff:ff:ff"), [2]),
    (lambda p: Rule(dmac=mac_text(MAC_Y), proto=6), [4]),
    (lambda p: Rule(dmac=mac_text(MAC_Y), smac=mac_text(MAC_X)), [3]),
    (lambda p: Rule(dmac="02:bb:00:00:00:03"), []),          # one bit off MAC_Y
], ids=["other", "own", "broadcast", "with-proto", "with-smac", "near-miss"])
def test_dmac_only_rule(veth_pair, make_rule, wanted):
    p = veth_pair
    frames = dmac_frames(p)
    with open_ring(p) as ring:
        ring.set_policy(False)
        rule = make_rule(p)
        rule.rule_id = 1
        ring.add_rule(rule)
        assert run(p, ring, frames) == wanted
        st = ring.rule_stats(1)
        assert (st.match, st.match_forward, st.filtered) == (len(wanted), len(wanted), 0)
        assert st.match_bytes == sum(len(frames[i]) for i in wanted)


def test_dmac_drop_rule_keeps_the_others(veth_pair):
    p = veth_pair
    frames = dmac_frames(p)
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, dmac=mac_text(MAC_Y), rule_action=DROP))
        ring.enable()
        send_from_b(p, frames)
        assert frames_of(ring) == [frames[0], frames[2], frames[5]]       # byte for byte
        st = ring.rule_stats(1)
        assert (st.match, st.filtered, st.match_forward) == (3, 3, 0)


def mac_pair_frames(p):
    """0: X->Y, 1: Y->X (hosts and ports not swapped), 2: X->X, 3: Y->Y,
    4: X->Z, 5: Y->X the reply (hosts and ports swapped), 6: X->Y with the
    hosts and ports of a reply."""
    rev = dict(src="10.2.0.1", dst="10.1.0.1", sport=2000, dport=1000)
    return [packet(p, 0, smac=MAC_X, dmac=MAC_Y),
            packet(p, 1, smac=MAC_Y, dmac=MAC_X),
            packet(p, 2, smac=MAC_X, dmac=MAC_X),
            packet(p, 3, smac=MAC_Y, dmac=MAC_Y),
            packet(p, 4, smac=MAC_X, dmac=MAC_Z),
            packet(p, 5, smac=MAC_Y, dmac=MAC_X, **rev),
            packet(p, 6, smac=MAC_X, dmac=MAC_Y, **rev)]


@pytest.mark.parametrize("fields, both_ways, one_way", [
    # The MAC pair: either way round.
    (dict(smac=mac_text(MAC_X), dmac=mac_text(MAC_Y)), [0, 1, 5, 6], [0, 6]),
    # A MAC and a host: swapped together, never one without the other
    # (frame 1 has smac Y / dmac X but its destination host is not 10.1.0.1).
    (dict(smac=mac_text(MAC_X), shost="10.1.0.1"), [0, 2, 4, 5], [0, 2, 4]),
    # The destination MAC and both ports.
    (dict(dmac=mac_text(MAC_Y), sport=1000, dport=2000), [0, 3, 5], [0, 3]),
], ids=["macs", "mac-and-host", "dmac-and-ports"])
def test_bidirectional_swaps_the_macs(veth_pair, fields, both_ways, one_way):
    p = veth_pair
    frames = mac_pair_frames(p)
    with open_ring(p) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, bidirectional=True, **fields))
        assert run(p, ring, frames) == both_ways
        assert ring.rule_stats(1).match == len(both_ways)
        ring.remove_rule(1)
        ring.add_rule(Rule(rule_id=1, **fields))
        assert run(p, ring, frames, enable=False) == one_way
        assert ring.rule_stats(1).match == len(one_way)


# -- 2. a drop rule leaves the host stack alone ------------------------------------

def ip4_frame(p, proto, l4, ident=1):
    """An IPv4 packet from b's address to a's, valid checksum, in a frame to a."""
    src, dst = bytes(map(int, p.ip_b.split("."))), bytes(map(int, p.ip_a.split(".")))
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return frame(p.mac_a, p.mac_b, 0x0800, hdr + l4)


def udp_to_a(p, dport, data, ident=1):
    return ip4_frame(p, 17, struct.pack("!HHHH", 4000, dport, 8 + len(data), 0) + data, ident)


def echo_request(p, seq, data):
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + data
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    return ip4_frame(p, 1, icmp, ident=100 + seq)


def test_dont_forward_keeps_packets_from_the_ring_not_from_the_stack(veth_pair):
    """UDP to port 5000 and ICMP echo requests are dropped by rules: none
    reaches the ring, but the socket in namespace a receives every datagram
    and the stack answers every echo request (the replies arrive in b).
    Datagrams to port 5001 reach both the ring and their socket."""
    p = veth_pair
    # a knows b's MAC: its replies need no ARP, so nothing else is on the link.
    p.a.run(["ip", "neigh", "replace", p.ip_b, "lladdr", mac_text(p.mac_b), "dev", p.if_a,
             "nud", "permanent"])
    dropped = [udp_to_a(p, 5000, b"drop me %d" % i, ident=i) for i in range(4)]
    kept = [udp_to_a(p, 5001, b"keep me %d" % i, ident=10 + i) for i in range(3)]
    pings = [echo_request(p, seq, b"echo %d" % seq) for seq in range(3)]
    frames = [dropped[0], kept[0], pings[0], dropped[1], dropped[2], kept[1], pings[1],
              dropped[3], pings[2], kept[2]]
    socks = []
    with p.a.enter():
        for port in (5000, 5001):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind((p.ip_a, port))
            s.settimeout(3)
    try:
        with open_ring(p) as ring, watcher(p, p.if_b) as back:
            ring.add_rule(Rule(rule_id=1, proto=17, dport=5000, rule_action=DROP))
            ring.add_rule(Rule(rule_id=2, proto=1, rule_action=DROP))
            ring.enable()
            send_from_b(p, frames)
            assert frames_of(ring) == kept                               # byte for byte
            assert [socks[0].recv(100) for _ in dropped] == [b"drop me %d" % i for i in range(4)]
            assert [socks[1].recv(100) for _ in kept] == [b"keep me %d" % i for i in range(3)]
            replies = frames_of(back)
            assert len(replies) == 3
            for seq, r in enumerate(replies):
                assert r[:12] == p.mac_b + p.mac_a and r[12:14] == b"\x08\x00"
                assert r[23] == 1 and r[34] == 0                            # ICMP echo reply
                assert struct.unpack("!HH", r[38:42]) == (0x4242, seq)
                assert r[42:42 + 6] == b"echo %d" % seq
            st1, st2 = ring.rule_stats(1), ring.rule_stats(2)
            assert (st1.match, st1.filtered, st1.match_forward) == (4, 4, 0)
            assert (st2.match, st2.filtered, st2.match_forward) == (3, 3, 0)
            assert st1.match_bytes == sum(len(f) for f in dropped)
    finally:
        for s in socks:
            s.close()


# -- 3. the ring's counters after rule drops -------------------------------------

def test_rule_drops_are_not_ring_drops(veth_pair):
    """A packet a rule drops is never queued for the ring: the kernel's
    PACKET_STATISTICS (kernel_stats) count only what the rules forwarded,
    with no drop; stats() counts what was read.  A second ring on the device
    without rules counts every frame."""
    p = veth_pair
    frames = [packet(p, i, proto=6 if i % 5 in (0, 3) else 17) for i in range(20)]
    fwd = [i for i in range(20) if i % 5 not in (0, 3)]
    with open_ring(p) as ring, open_ring(p) as plain:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))
        ring.enable()
        plain.enable()
        assert ring.kernel_stats() == KernelStats(0, 0, 0)
        send_from_b(p, frames)
        assert wait_for(lambda: plain.kernel_stats().recv, 20) == 20
        assert wait_for(lambda: ring.kernel_stats().recv, len(fwd)) == len(fwd)
        assert ring.kernel_stats() == KernelStats(12, 0, 0)
        assert ring.stats() == Stats(0, 0)                    # nothing read yet
        assert serials(drain(ring)) == fwd
        assert ring.stats() == Stats(12, 0)
        assert ring.kernel_stats() == KernelStats(12, 0, 0)
        st = ring.rule_stats(1)
        assert (st.match, st.filtered) == (8, 8)
        assert len(drain(plain)) == 20
        assert plain.kernel_stats() == KernelStats(20, 0, 0)
        # The policy drops too, uncounted as ring drops.
        ring.set_policy(False)
        send_from_b(p, frames)
        assert wait_for(lambda: plain.kernel_stats().recv, 40) == 40
        assert drain(ring) == []
        assert ring.kernel_stats() == KernelStats(12, 0, 0)
        assert ring.stats() == Stats(12, 0)
        assert ring.rule_stats(1).match == 16


def test_a_full_ring_counts_only_forwarded_packets_as_drops(veth_pair):
    """One kernel block, never read while 400 frames arrive: the rule keeps
    the 200 TCP ones out, and of the 200 UDP ones the ring holds some and
    drops the rest.  recv counts the 200 forwarded, drop those that found no
    room (exactly the ones never delivered); the rule's drops are neither."""
    p = veth_pair
    body = b"x" * 900
    frames = [packet(p, i, proto=6 if i % 2 else 17)[:-1] + body for i in range(400)]
    with open_ring(p) as ring:
        ring.set_buffer_size(1)
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))
        ring.enable()
        for i in range(0, 400, 50):
            send_from_b(p, frames[i:i + 50])
        assert wait_for(lambda: ring.kernel_stats().recv, 200) == 200
        assert wait_for(lambda: ring.rule_stats(1).filtered, 200) == 200
        got = serials(drain(ring))
        ks = ring.kernel_stats()
        assert 0 < len(got) < 200, len(got)                     # the ring overflowed
        assert got == sorted(got) and all(s % 2 == 0 for s in got)
        assert (ks.recv, ks.drop) == (200, 200 - len(got))
        assert ring.stats() == Stats(len(got), 200 - len(got))


# -- 4. with sampling and with a cluster -----------------------------------------

@pytest.mark.parametrize("rate", [2, 3, 7])
def test_sampling_runs_after_the_rules(veth_pair, rate):
    """libpfring/README.md's order: the rules, then sampling in the receive
    calls.  The sampler sees only what the rules forwarded, and takes one of
    every ``rate`` of those; the rules count every packet, the kernel every
    forwarded one."""
    p = veth_pair
    frames = [packet(p, i, proto=6 if i % 3 == 0 else 17) for i in range(30)]
    fwd = [i for i in range(30) if i % 3]
    with open_ring(p) as ring:
        ring.set_sampling_rate(rate)
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))
        ring.add_rule(Rule(rule_id=2, proto=17, rule_action=EXEC_CONT))
        assert run(p, ring, frames) == fwd[::rate]
        assert ring.rule_stats(1).match == 10
        assert ring.rule_stats(2).match == 20
        assert ring.kernel_stats() == KernelStats(20, 0, 0)
        assert ring.stats() == Stats(len(fwd[::rate]), 0)


def cluster_frames(p):
    frames = []
    for i in range(40):
        frames.append(packet(p, i, src=f"10.1.{i}.{i * 11 % 250 + 1}", sport=1000 + 7 * i,
                             dport=2000 + i % 4, proto=(17, 6)[i % 2]))
    return frames


def cluster_member(f, members):
    """The member a per_flow cluster gives a received frame (the reference model)."""
    data, tci = received(f)
    return member(ClusterType.PER_FLOW, data, members, tci)


def test_each_cluster_member_applies_its_own_rules(veth_pair):
    """The fanout picks the member first (the cluster_per_flow hash, members
    in join order), then that member's rules decide: a frame one member's
    rule drops is not given to another member."""
    p = veth_pair
    frames = cluster_frames(p)
    where = [cluster_member(f, 2) for f in frames]
    want0 = [i for i in range(40) if where[i] == 0 and i % 2 == 0]           # not TCP
    want1 = [i for i in range(40) if where[i] == 1 and 2000 + i % 4 <= 2001]  # dport 2000-2001
    tcp0 = [i for i in range(40) if where[i] == 0 and i % 2]
    assert want0 and want1 and tcp0
    assert len(want1) < where.count(1)                   # member 1's rule drops some
    with p.a.enter():
        rings = [Ring(p.if_a, 1536) for _ in range(2)]
    try:
        r0, r1 = rings
        for r in rings:
            r.set_direction(Direction.RX_ONLY)
        r0.add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))       # before joining
        r0.set_cluster(41, ClusterType.PER_FLOW)
        r1.set_cluster(41, ClusterType.PER_FLOW)
        for r in rings:
            r.enable()
        r1.set_policy(False)                                         # after enabling
        r1.add_rule(Rule(rule_id=7, dport=(2000, 2001)))
        send_from_b(p, frames)
        assert [serials(drain(r)) for r in rings] == [want0, want1]
        assert r0.rule_stats(1).match == len(tcp0)
        assert r1.rule_stats(7).match == len(want1)
        assert r0.kernel_stats().recv == len(want0)
        assert r1.kernel_stats().recv == len(want1)
    finally:
        for r in rings:
            r.close()


def test_cluster_sampling_and_rules_together(veth_pair):
    """A clustered member with a rule and sampling: member choice, then its
    rules, then its sampler, in that order."""
    p = veth_pair
    frames = cluster_frames(p)
    where = [cluster_member(f, 2) for f in frames]
    mine = [i for i in range(40) if where[i] == 1 and i % 2 == 0]
    assert len(mine) >= 4
    with p.a.enter():
        rings = [Ring(p.if_a, 1536) for _ in range(2)]
    try:
        for r in rings:
            r.set_direction(Direction.RX_ONLY)
            r.set_cluster(42, ClusterType.PER_FLOW)
        rings[1].set_sampling_rate(2)
        rings[1].add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))
        for r in rings:
            r.enable()
        send_from_b(p, frames)
        got = [serials(drain(r)) for r in rings]
        assert got[0] == [i for i in range(40) if where[i] == 0]
        assert got[1] == mine[::2]
        assert rings[1].kernel_stats().recv == len(mine)
    finally:
        for r in rings:
            r.close()


# -- 5. hash rules: execute-and-stop against bounce-and-continue ----------------------

def test_hash_execute_stop_and_bounce_continue(pair):
    """Per flow (sport): 1000 a hash rule that executes and stops (counted,
    the policy decides, the wildcard rules do not run, nothing sent); 1001
    and 1002 a hash rule that bounces and continues (a copy goes back out of
    veth0 with the MACs swapped, then the wildcard rules decide: 1001 is
    forwarded by rule 1, 1002 dropped by rule 2); 1003 no hash rule (rule 2
    drops it); 1004 a forwarding hash rule."""
    p = pair
    frames = [packet(p, i, sport=1000 + i) for i in range(5)]
    flow = dict(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", proto=17, port_peer_b=2000)
    with open_ring(p) as ring, watcher(p, p.if_b) as back, watcher(p, "rf1") as out:
        ring.add_hash_rule(HashRule(port_peer_a=1000, rule_action=EXEC_STOP, **flow))
        ring.add_hash_rule(HashRule(port_peer_a=1001, rule_action=BOUNCE_CONT, **flow))
        ring.add_hash_rule(HashRule(port_peer_a=1002, rule_action=BOUNCE_CONT, **flow))
        ring.add_hash_rule(HashRule(port_peer_a=1004, rule_action=FWD, **flow))
        ring.add_rule(Rule(rule_id=1, sport=1001))
        ring.add_rule(Rule(rule_id=2, rule_action=DROP))
        ring.enable()
        send_from_b(p, frames)
        assert frames_of(ring) == [frames[0], frames[1], frames[4]]
        assert frames_of(back) == [swapped(frames[1]), swapped(frames[2])]
        assert frames_of(out) == []
        assert ring.reflection_stats() == (2, 0)
        assert [ring.rule_stats(i).match for i in (1, 2)] == [1, 2]       # 1001; 1002, 1003
        stats = [ring.hash_rule_stats(HashRule(port_peer_a=port, **flow))
                 for port in (1000, 1001, 1002, 1004)]
        assert [(s.match, s.filtered, s.match_forward) for s in stats] == \
            [(1, 0, 0), (1, 0, 0), (1, 0, 0), (1, 0, 1)]
        assert all(s.match_bytes == len(frames[0]) for s in stats)
        # The policy decides for execute-and-stop: now drop.
        ring.set_policy(False)
        send_from_b(p, frames)
        assert frames_of(ring) == [frames[1], frames[4]]
        assert frames_of(back) == [swapped(frames[1]), swapped(frames[2])]
        assert ring.hash_rule_stats(HashRule(port_peer_a=1000, **flow)).match == 2
        assert ring.reflection_stats() == (4, 0)
        # Execute-and-stop against the stop form of bounce: the flow is
        # bounced and kept out, whatever the wildcard rules say.
        ring.remove_hash_rule(HashRule(port_peer_a=1001, **flow))
        ring.add_hash_rule(HashRule(port_peer_a=1001, rule_action=BOUNCE, **flow))
        send_from_b(p, frames)
        assert frames_of(ring) == [frames[4]]
        assert frames_of(back) == [swapped(frames[1]), swapped(frames[2])]
        st = ring.hash_rule_stats(HashRule(port_peer_a=1001, **flow))
        assert (st.match, st.filtered, st.match_forward) == (1, 1, 0)
        assert ring.rule_stats(1).match == 2                   # not run for the stop form


# -- 6. reflect and bounce of tagged and IPv6 frames ---------------------------------

def qinq(p, serial):
    """A double-tagged frame: outer 802.1Q tag 7, inner tag 8, IPv4 UDP."""
    inner = packet(p, serial)
    return inner[:12] + struct.pack("!HHHH", 0x8100, 7, 0x8100, 8) + inner[12:]


def test_reflect_vlan_and_ipv6_frames_byte_for_byte(pair):
    p = pair
    v6 = dict(src="2001:db8:1::1", dst="2001:db8:2::1")
    frames = [packet(p, 0, vlan=7),
              packet(p, 1, **v6),
              packet(p, 2, vlan=7, proto=6, **v6),
              packet(p, 3),                                     # untagged IPv4: kept
              qinq(p, 4),
              packet(p, 5, vlan=9),                             # another VLAN: kept
              packet(p, 6, src="2001:db8:1::1", dst="2001:db8:2::7", sport=1234)]
    with open_ring(p) as ring, watcher(p, "rf1") as out:
        ring.add_rule(Rule(rule_id=1, vlan_id=7, rule_action=REFLECT,
                           reflector_device_name="rf0"))
        ring.add_rule(Rule(rule_id=2, eth_type=0x86DD, dhost="2001:db8:2::1",
                           rule_action=REFLECT, reflector_device_name="rf0"))
        ring.add_hash_rule(HashRule(host_peer_a="2001:db8:1::1", host_peer_b="2001:db8:2::7",
                                    port_peer_a=1234, port_peer_b=2000, proto=17,
                                    rule_action=REFLECT, reflector_device_name="rf0"))
        ring.enable()
        send_from_b(p, frames)
        assert frames_of(ring) == [frames[3], frames[5]]
        assert frames_of(out) == [frames[0], frames[1], frames[2], frames[4], frames[6]]
        assert [ring.rule_stats(i).match for i in (1, 2)] == [3, 1]
        assert ring.reflection_stats() == (5, 0)


def test_bounce_vlan_and_ipv6_frames_byte_for_byte(pair):
    p = pair
    v6 = dict(src="2001:db8:1::1", dst="2001:db8:2::1")
    frames = [packet(p, 0, vlan=7), packet(p, 1, **v6), packet(p, 2, vlan=7, **v6),
              packet(p, 3), qinq(p, 4)]
    with open_ring(p) as ring, watcher(p, p.if_b) as back:
        ring.add_rule(Rule(rule_id=1, vlan_id=7, rule_action=BOUNCE))
        ring.add_rule(Rule(rule_id=2, eth_type=0x86DD, rule_action=BOUNCE))
        ring.enable()
        send_from_b(p, frames)
        assert frames_of(ring) == [frames[3]]
        assert frames_of(back) == [swapped(frames[i]) for i in (0, 1, 2, 4)]
        assert ring.reflection_stats() == (4, 0)


# -- 7. with a VLAN filter and on several devices ----------------------------------

@pytest.mark.parametrize("how", ["set_vlan_id", "device-name"])
def test_rules_after_the_vlan_filter(veth_pair, how):
    """The ring's VLAN filter is part of its classic filter, which runs
    before the rules: the rules see (and count) VLAN 7's frames only."""
    p = veth_pair
    frames = [packet(p, 0, vlan=7), packet(p, 1, vlan=7, proto=6), packet(p, 2, vlan=8),
              packet(p, 3), packet(p, 4, vlan=7, dport=2001), packet(p, 5, vlan=8, proto=6),
              packet(p, 6, proto=6)]
    if how == "set_vlan_id":
        ring = open_ring(p)
        ring.set_vlan_id(7)
    else:
        ring = open_ring(p, f"{p.if_a}.7")
    with ring:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))
        ring.add_rule(Rule(rule_id=2, dport=2001, rule_action=EXEC_CONT))
        assert run(p, ring, frames) == [0, 4]
        assert [ring.rule_stats(i).match for i in (1, 2)] == [1, 1]
        # A rule on another VLAN never matches: the filter ran first.
        ring.add_rule(Rule(rule_id=3, vlan_id=8))
        ring.set_policy(False)
        assert run(p, ring, frames, enable=False) == []
        assert ring.rule_stats(3).match == 0
        ring.add_rule(Rule(rule_id=4, vlan_id=7))
        assert run(p, ring, frames, enable=False) == [0, 4]


def test_rules_on_a_ring_on_two_devices(pair):
    """A ring on veth0,rf0: an if_index rule picks one device's frames, and a
    bounce rule sends each frame back out of the device it came in on; the
    ring's own devices cannot be reflectors."""
    p = pair
    rf0 = ifindex(p.a, "rf0")
    veth0 = ifindex(p.a, p.if_a)
    on_veth = [packet(p, i, proto=(17, 6)[i % 2]) for i in range(4)]
    on_rf = [packet(p, 10 + i, proto=(17, 6)[i % 2]) for i in range(4)]
    ring = open_ring(p, f"{p.if_a},rf0")
    with ring, watcher(p, p.if_b) as back_veth, watcher(p, "rf1") as back_rf:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, if_index=rf0))
        ring.enable()
        send_from_b(p, on_veth)
        send_frames(p.b, "rf1", on_rf)
        got = drain(ring, quiet=0.4)
        assert [d for _, d in got] == on_rf
        assert {h.if_index for h, _ in got} == {rf0}
        ring.remove_rule(1)
        ring.add_rule(Rule(rule_id=1, if_index=veth0, proto=17))
        ring.add_rule(Rule(rule_id=2, if_index=rf0, proto=6))
        send_from_b(p, on_veth)
        send_frames(p.b, "rf1", on_rf)
        got = drain(ring, quiet=0.4)
        assert sorted(serials(got)) == [0, 2, 11, 13]
        assert {(h.if_index, s) for (h, _), s in zip(got, serials(got))} == \
            {(veth0, 0), (veth0, 2), (rf0, 11), (rf0, 13)}
        # Bounce: back out of the device each frame came in on.
        ring.remove_rule(1)
        ring.remove_rule(2)
        ring.set_policy(True)
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=BOUNCE))
        send_from_b(p, on_veth)
        send_frames(p.b, "rf1", on_rf)
        assert sorted(serials(drain(ring, quiet=0.4))) == [0, 2, 10, 12]
        assert frames_of(back_veth) == [swapped(on_veth[1]), swapped(on_veth[3])]
        assert frames_of(back_rf) == [swapped(on_rf[1]), swapped(on_rf[3])]
        assert ring.reflection_stats() == (4, 0)
        with pytest.raises(PFRingError, match="reflector device 'rf0' is a capture device"):
            ring.add_rule(Rule(rule_id=3, rule_action=REFLECT, reflector_device_name="rf0"))
        assert ring.rule_stats(1).match == 4


# -- 8. disabled rings and the C return codes ---------------------------------------

def test_rules_on_a_ring_never_enabled_and_disabled(veth_pair):
    """Rules, the policy and hash rules may be set before the first enable
    (libpfring/README.md); while the ring is not enabled nothing is
    received or counted, and what changed meanwhile holds at the enable."""
    p = veth_pair
    frames = [packet(p, 0, proto=6), packet(p, 1), packet(p, 2, sport=1001)]
    flow = HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", port_peer_a=1001,
                    port_peer_b=2000, proto=17)
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))
        ring.add_hash_rule(HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1",
                                    port_peer_a=1001, port_peer_b=2000, proto=17,
                                    rule_action=DROP))
        ring.set_policy(True)
        send_from_b(p, frames)
        with pytest.raises(PFRingError, match="ring is not enabled") as err:
            ring.recv_batch(1, timeout=0.1)
        assert err.value.code == lib.PF_RING_ERROR_RING_NOT_ENABLED
        assert ring.rule_stats(1).match == 0
        assert ring.hash_rule_stats(flow).match == 0
        assert run(p, ring, frames) == [1]
        assert ring.rule_stats(1).match == 1
        assert ring.hash_rule_stats(flow).match == 1
        # Disabled: rule changes are taken and nothing is counted.
        ring.disable()
        ring.remove_rule(1)
        ring.remove_hash_rule(flow)
        ring.add_rule(Rule(rule_id=2, proto=17, rule_action=DROP))
        send_from_b(p, frames)
        with pytest.raises(PFRingError, match="ring is not enabled"):
            ring.recv_batch(1, timeout=0.1)
        assert ring.rule_stats(2).match == 0
        ring.enable()
        assert serials(drain(ring)) == []                       # nothing from while disabled
        assert run(p, ring, frames, enable=False) == [0]
        assert ring.rule_stats(2).match == 2


def stats_call(ring, n, rule_id=1):
    """pfring_get_filtering_rule_stats with a buffer of n bytes (filled with
    0xAA) and *stats_len n: (rc, the buffer, *stats_len after)."""
    buf = ffi.new("char[]", max(n, 1))
    ffi.memmove(buf, b"\xaa" * max(n, 1), max(n, 1))
    ln = ffi.new("u_int *", n)
    rc = lib.pfring_get_filtering_rule_stats(ring._h(), rule_id, buf, ln)
    return rc, bytes(ffi.buffer(buf, max(n, 1))), ln[0]


def hash_stats_call(ring, rule, n):
    buf = ffi.new("char[]", max(n, 1))
    ffi.memmove(buf, b"\xaa" * max(n, 1), max(n, 1))
    ln = ffi.new("u_int *", n)
    rc = lib.pfring_get_hash_filtering_rule_stats(ring._h(), rule.to_c(), buf, ln)
    return rc, bytes(ffi.buffer(buf, max(n, 1))), ln[0]


def test_rule_stats_buffer_lengths_from_c(veth_pair):
    p = veth_pair
    size = ffi.sizeof("filtering_rule_stats")
    hsize = ffi.sizeof("hash_filtering_rule_stats")
    flow = HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", port_peer_a=1001,
                    port_peer_b=2000, proto=17)
    frames = [packet(p, 0, proto=6), packet(p, 1), packet(p, 2, sport=1001),
              packet(p, 3, proto=6)]
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))
        ring.add_hash_rule(flow)
        assert run(p, ring, frames) == [1, 2]
        for n in range(8):
            rc, buf, ln = stats_call(ring, n)
            assert rc == INVAL, n
            assert ring.last_error == f"stats_len {n} is too small (a filtering_rule_stats " \
                                      f"is {size} bytes)"
            assert ln == n and buf == b"\xaa" * max(n, 1)      # nothing written
            rc, buf, ln = hash_stats_call(ring, flow, n)
            assert rc == INVAL, n
            assert ring.last_error == f"stats_len {n} is too small (a " \
                                      f"hash_filtering_rule_stats is {hsize} bytes)"
            assert ln == n and buf == b"\xaa" * max(n, 1)
        # 8 bytes: the match count alone.
        assert stats_call(ring, 8) == (0, struct.pack("=Q", 2), 8)
        assert hash_stats_call(ring, flow, 8) == (0, struct.pack("=Q", 1), 8)
        # 20 bytes: match, filtered and the first half of match_forward.
        rc, buf, ln = stats_call(ring, 20)
        assert (rc, ln) == (0, 20)
        assert buf == struct.pack("=QQ", 2, 2) + bytes(4)
        # More than the struct: the struct's size written, the rest untouched.
        rc, buf, ln = stats_call(ring, size + 16)
        assert (rc, ln) == (0, size)
        assert struct.unpack_from("=QQQ", buf) == (2, 2, 0)
        assert buf[size:] == b"\xaa" * 16
        rc, buf, ln = hash_stats_call(ring, flow, hsize + 16)
        assert (rc, ln) == (0, hsize)
        assert struct.unpack_from("=QQ", buf) == (1, 0)
        assert buf[hsize:] == b"\xaa" * 16
        # NULL pointers.
        ln = ffi.new("u_int *", size)
        assert lib.pfring_get_filtering_rule_stats(ring._h(), 1, ffi.NULL, ln) == INVAL
        assert ring.last_error == "stats is NULL"
        buf = ffi.new("char[]", size)
        assert lib.pfring_get_filtering_rule_stats(ring._h(), 1, buf, ffi.NULL) == INVAL
        assert ring.last_error == "stats_len is NULL"
        assert lib.pfring_get_hash_filtering_rule_stats(ring._h(), flow.to_c(), ffi.NULL,
                                                        ln) == INVAL
        assert ring.last_error == "stats is NULL"
        # A missing rule with a short buffer: the length is checked first.
        assert stats_call(ring, 4, rule_id=9)[0] == INVAL
        assert "stats_len 4 is too small" in ring.last_error
        assert stats_call(ring, size, rule_id=9)[0] == INVAL
        assert ring.last_error == f"rule_id 9 is not a filtering rule of '{p.if_a}'"
        # The rules are as they were.
        assert run(p, ring, frames, enable=False) == [1, 2]
        assert ring.rule_stats(1).match == 4


def test_bad_c_inputs_return_codes_and_change_nothing(veth_pair):
    p = veth_pair
    frames = [packet(p, 0, proto=6), packet(p, 1)]
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=6, rule_action=DROP))
        h = ring._h()
        assert lib.pfring_add_filtering_rule(h, ffi.NULL) == INVAL
        assert ring.last_error == "rule_to_add is NULL"
        assert lib.pfring_handle_hash_filtering_rule(h, ffi.NULL, 1) == INVAL
        assert ring.last_error == "rule_to_add is NULL"
        hr = HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1").to_c()
        assert lib.pfring_handle_hash_filtering_rule(h, hr, 2) == INVAL
        assert ring.last_error == "add_rule 2 is not 1 (add) or 0 (remove)"
        assert lib.pfring_toggle_filtering_policy(h, 2) == INVAL
        assert ring.last_error == "rules_default_accept_policy 2 is not 0 (drop) or 1 (accept)"
        assert lib.pfring_get_reflection_stats(h, ffi.NULL) == INVAL
        assert ring.last_error == "stats is NULL"
        r = Rule(rule_id=2).to_c()
        r.bidirectional = 2
        assert lib.pfring_add_filtering_rule(h, r) == INVAL
        assert ring.last_error == "filtering rule 2: bidirectional 2 is not 0 or 1"
        r = Rule(rule_id=2).to_c()
        r.rule_action = 10
        assert lib.pfring_add_filtering_rule(h, r) == INVAL
        assert "rule_action 10 is not a rule_action_behaviour (0..9)" in ring.last_error
        r = Rule(rule_id=2).to_c()
        r.core_fields.if_index = -3
        assert lib.pfring_add_filtering_rule(h, r) == INVAL
        assert ring.last_error == "filtering rule 2: core_fields.if_index -3 is negative"
        r = Rule(rule_id=2).to_c()
        r.extended_fields.optional_fields = 0x0100
        assert lib.pfring_add_filtering_rule(h, r) == INVAL
        assert "optional_fields 0x100 has unknown flags" in ring.last_error
        with pytest.raises(InvalidArgumentError, match="is for wildcard rules"):
            ring.add_hash_rule(HashRule(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1",
                                        rule_action=RuleAction.FORWARD_ADD_RULE_AND_STOP))
        # Nothing changed.
        with pytest.raises(PFRingError, match="rule_id 2 is not a filtering rule"):
            ring.rule_stats(2)
        assert run(p, ring, frames) == [1]
        assert ring.rule_stats(1).match == 1
        assert ring.rules_program_loads() == 1


def test_rings_that_take_no_rules(veth_pair):
    """An unbound ring ("none") takes no rules, of either kind, nor a
    policy: PF_RING_ERROR_NOT_SUPPORTED saying so."""
    with veth_pair.a.enter():
        ring = Ring("none", 1536)
    with ring:
        for call in (lambda: ring.add_rule(Rule(rule_id=1)),
                     lambda: ring.set_policy(False),
                     lambda: ring.add_hash_rule(HashRule(host_peer_a="10.1.0.1",
                                                         host_peer_b="10.2.0.1"))):
            with pytest.raises(NotSupportedError, match="filtering rules are not supported on "
                                                        "'none'") as err:
                call()
            assert err.value.code == lib.PF_RING_ERROR_NOT_SUPPORTED
