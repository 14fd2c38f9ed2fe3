"""Reflect and bounce: the filtering rules that send packets out again.

Frames with serials go from namespace b (veth1) to a ring on veth0 in
namespace a.  A second veth link, rf0 (a) <-> rf1 (b), is the reflector
device: what a reflect rule sends out of rf0 arrives on rf1, where a ring
in namespace b takes it.  What a bounce rule sends back out of veth0
arrives on veth1, where an RX-only ring in namespace b takes it.  Every test
asserts the exact serials and bytes on each side, and the counters.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from pcap_pfring import Direction, Ring
from pcap_pfring._ffi import ffi, lib
from pcap_pfring.errors import PFRingError
from pcap_pfring.rules import HashRule, Rule, RuleAction
from pcap_pfring.testing.fixtures import drain, frame, send_from_b
from pcap_pfring.testing.serials import open_ring, packet, serials

pytestmark = pytest.mark.needs_root

REFLECT = RuleAction.REFLECT_AND_STOP
REFLECT_CONT = RuleAction.REFLECT_AND_CONTINUE
BOUNCE = RuleAction.BOUNCE_AND_STOP
BOUNCE_CONT = RuleAction.BOUNCE_AND_CONTINUE
TCX_LINK = 11                          # BPF_LINK_TYPE_TCX


@pytest.fixture
def pair(veth_pair):
    veth_pair.add_link("rf0", "rf1")
    return veth_pair


def watcher(p, device):
    """An enabled RX-only ring in namespace b on device."""
    with p.b.enter():
        ring = Ring(device, 1536)
    ring.set_direction(Direction.RX_ONLY)
    ring.enable()
    return ring


def run(p, ring, frames, *watchers):
    """Sends frames from b; returns what ring got and what each watcher got
    (lists of frames)."""
    ring.enable()
    send_from_b(p, frames)
    return [[d for _, d in drain(r, quiet=0.4)] for r in (ring, *watchers)]


def swapped(f):
    return f[6:12] + f[0:6] + f[12:]


def tcx_links():
    """The ids of the tcx links of the machine."""
    out = subprocess.run(["bpftool", "-j", "link", "show"], check=True, capture_output=True,
                         text=True).stdout
    return {link["id"] for link in json.loads(out or "[]") if link.get("type") == TCX_LINK}


# -- reflect ---------------------------------------------------------------------

def test_reflect_sends_the_matching_frames_unmodified(pair):
    p = pair
    frames = [packet(p, i, proto=17 if i % 2 == 0 else 6) for i in range(12)]
    with open_ring(p) as ring, watcher(p, "rf1") as out:
        ring.add_rule(Rule(rule_id=1, proto=17, rule_action=REFLECT,
                           reflector_device_name="rf0"))
        got, reflected = run(p, ring, frames, out)
        assert serials([(0, d) for d in got]) == [1, 3, 5, 7, 9, 11]
        assert reflected == [frames[i] for i in range(0, 12, 2)]        # byte for byte
        st = ring.rule_stats(1)
        assert (st.match, st.filtered, st.match_forward) == (6, 6, 0)
        assert st.match_bytes == 6 * len(frames[0])
        assert ring.reflection_stats() == (6, 0)


def test_continue_forms_send_and_go_on(pair):
    """reflect-and-continue sends a copy and evaluation goes on: a later
    forward rule still gives the ring the packet; a later reflect rule
    sends a second copy; without a later verdict the packet stays out."""
    p = pair
    frames = [packet(p, 0, dport=2000), packet(p, 1, dport=2001), packet(p, 2, dport=2002)]
    with open_ring(p) as ring, watcher(p, "rf1") as out:
        ring.add_rule(Rule(rule_id=1, rule_action=REFLECT_CONT, reflector_device_name="rf0"))
        ring.add_rule(Rule(rule_id=2, dport=2000))                      # forward
        ring.add_rule(Rule(rule_id=3, dport=2001, rule_action=REFLECT,
                           reflector_device_name="rf0"))
        got, reflected = run(p, ring, frames, out)
        assert got == [frames[0]]
        assert sorted(serials([(0, d) for d in reflected])) == [0, 1, 1, 2]
        assert [ring.rule_stats(i).match for i in (1, 2, 3)] == [3, 1, 1]
        assert ring.rule_stats(1).filtered == 0          # a continue form decides nothing
        assert ring.reflection_stats() == (4, 0)


def test_reflect_combines_with_the_bpf_filter_and_other_rings(pair):
    """The ring's BPF filter runs before the rules (PF_RING's order): a
    frame it rejects is neither captured nor reflected.  A second ring on
    the same device, without rules, gets every frame."""
    p = pair
    frames = [packet(p, i, sport=1000 + i) for i in range(6)]
    with open_ring(p) as ring, open_ring(p) as plain, watcher(p, "rf1") as out:
        ring.set_bpf_filter("udp src port 1001 or udp src port 1002 or udp src port 1003")
        ring.add_rule(Rule(rule_id=1, sport=(1002, 1003), rule_action=REFLECT,
                           reflector_device_name="rf0"))
        plain.enable()
        got, reflected, everything = run(p, ring, frames, out, plain)
        assert serials([(0, d) for d in got]) == [1]
        assert reflected == [frames[2], frames[3]]
        assert everything == frames


def test_the_host_stack_still_gets_reflected_packets(pair):
    """A reflect rule leaves the packet to the stack as it was: a UDP
    socket in namespace a receives every datagram that was reflected."""
    p = pair
    payloads = [b"datagram %d" % i for i in range(8)]
    frames = [udp_frame(p, 4000, 5000, data) for data in payloads]
    with p.a.enter():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((p.ip_a, 5000))
        sock.settimeout(2)
        with open_ring(p) as ring, watcher(p, "rf1") as out:
            ring.add_rule(Rule(rule_id=1, proto=17, dport=5000, rule_action=REFLECT,
                               reflector_device_name="rf0"))
            got, reflected = run(p, ring, frames, out)
            assert got == []
            assert reflected == frames
            assert [sock.recv(100) for _ in payloads] == payloads
    finally:
        sock.close()


def udp_frame(p, sport, dport, data):
    """A UDP datagram from b's address to a's, with a valid IP checksum."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                      socket.inet_aton(p.ip_b), socket.inet_aton(p.ip_a))
    words = sum(struct.unpack("!10H", hdr))
    while words >> 16:
        words = (words & 0xFFFF) + (words >> 16)
    hdr = hdr[:10] + struct.pack("!H", ~words & 0xFFFF) + hdr[12:]
    return frame(p.mac_a, p.mac_b, 0x0800, hdr + udp)


# -- bounce ----------------------------------------------------------------------

def test_bounce_sends_back_with_the_macs_swapped(pair):
    p = pair
    frames = [packet(p, i, proto=6 if i < 3 else 17) for i in range(7)]
    with open_ring(p) as ring, watcher(p, p.if_b) as back:
        ring.add_rule(Rule(rule_id=4, proto=6, rule_action=BOUNCE))
        got, bounced = run(p, ring, frames, back)
        assert serials([(0, d) for d in got]) == [3, 4, 5, 6]
        assert bounced == [swapped(frames[i]) for i in range(3)]
        st = ring.rule_stats(4)
        assert (st.match, st.filtered) == (3, 3)
        assert ring.reflection_stats() == (3, 0)


def test_bounce_and_continue_then_forward(pair):
    p = pair
    frames = [packet(p, i) for i in range(4)]
    with open_ring(p) as ring, watcher(p, p.if_b) as back:
        ring.add_rule(Rule(rule_id=1, rule_action=BOUNCE_CONT))
        ring.add_rule(Rule(rule_id=2))
        got, bounced = run(p, ring, frames, back)
        assert got == frames
        assert bounced == [swapped(f) for f in frames]


# -- hash rules ------------------------------------------------------------------

def test_hash_rules_reflect_and_bounce(pair):
    p = pair
    frames = [packet(p, 0, sport=1000), packet(p, 1, sport=1001), packet(p, 2, sport=1002),
              packet(p, 3, sport=1003)]
    flow = dict(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", proto=17, port_peer_b=2000)
    with open_ring(p) as ring, watcher(p, "rf1") as out, watcher(p, p.if_b) as back:
        ring.add_hash_rule(HashRule(port_peer_a=1000, rule_action=REFLECT,
                                    reflector_device_name="rf0", **flow))
        ring.add_hash_rule(HashRule(port_peer_a=1001, rule_action=BOUNCE, **flow))
        # reflect and continue: the wildcard rules run too, as in PF_RING
        ring.add_hash_rule(HashRule(port_peer_a=1002, rule_action=REFLECT_CONT,
                                    reflector_device_name="rf0", **flow))
        ring.add_rule(Rule(rule_id=1, sport=1002))
        got, reflected, bounced = run(p, ring, frames, out, back)
        assert got == [frames[2], frames[3]]
        assert reflected == [frames[0], frames[2]]
        assert bounced == [swapped(frames[1])]
        st = ring.hash_rule_stats(HashRule(port_peer_a=1000, **flow))
        assert (st.match, st.filtered) == (1, 1)
        assert ring.reflection_stats() == (3, 0)
        # removing them stops the sending
        for port in (1000, 1001, 1002):
            ring.remove_hash_rule(HashRule(port_peer_a=port, **flow))
        got, reflected, bounced = run(p, ring, frames, out, back)
        assert got == frames and reflected == [] and bounced == []


# -- the reflector's life --------------------------------------------------------

def test_rule_changes_keep_one_link_and_close_removes_it(pair):
    p = pair
    frames = [packet(p, i) for i in range(3)]
    before = tcx_links()
    with open_ring(p) as ring, watcher(p, "rf1") as out:
        ring.enable()
        ring.add_rule(Rule(rule_id=1, rule_action=REFLECT, reflector_device_name="rf0"))
        mine = tcx_links() - before
        assert len(mine) == 1
        ring.add_rule(Rule(rule_id=2, proto=6))          # a new set: the same link
        ring.set_bpf_filter("udp")                        # a new instance: the same link
        assert tcx_links() - before == mine
        assert run(p, ring, frames, out)[1] == frames
        ring.remove_rule(1)                               # no rule reflects: no link
        assert tcx_links() - before == set()
        assert run(p, ring, frames, out) == [frames, []]
        ring.add_rule(Rule(rule_id=1, rule_action=REFLECT, reflector_device_name="rf0"))
        assert len(tcx_links() - before) == 1
    assert tcx_links() - before == set()


CHILD = textwrap.dedent("""
    import sys, time
    from pcap_pfring.rules import Rule, RuleAction
    from pcap_pfring import Ring
    ring = Ring("veth0", 1536)
    ring.add_rule(Rule(rule_id=1, rule_action=RuleAction.REFLECT_AND_STOP,
                       reflector_device_name="rf0"))
    ring.enable()
    print("ready", flush=True)
    time.sleep(60)
""")


def test_sigkill_leaves_nothing_attached(pair):
    p = pair
    frames = [packet(p, i) for i in range(3)]
    before = tcx_links()
    child = p.a.popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert len(tcx_links() - before) == 1
        with watcher(p, "rf1") as out:
            send_from_b(p, frames)
            assert [d for _, d in drain(out, quiet=0.4)] == frames
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            deadline = time.monotonic() + 5
            while tcx_links() - before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert tcx_links() - before == set()
            send_from_b(p, frames)
            assert drain(out, quiet=0.4) == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        child.stdout.close()


def test_a_reflector_going_down_counts_failures(pair):
    p = pair
    frames = [packet(p, i) for i in range(4)]
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, rule_action=REFLECT, reflector_device_name="rf0"))
        p.a.run(["ip", "link", "set", "rf0", "down"])
        assert run(p, ring, frames)[0] == []
        assert ring.reflection_stats() == (0, 4)
        assert ring.rule_stats(1).match == 4


# -- bad input -------------------------------------------------------------------

def raw_rule(action, name=b""):
    r = ffi.new("filtering_rule *")
    r.rule_id = 9
    r.rule_action = int(action)
    ffi.memmove(r.reflector_device_name, name, len(name))
    return r


@pytest.mark.parametrize("rule, code, text", [
    (Rule(rule_id=9, rule_action=REFLECT, reflector_device_name="nosuch"),
     lib.PF_RING_ERROR_INVALID_ARGUMENT, "reflector device 'nosuch' does not exist"),
    (Rule(rule_id=9, rule_action=REFLECT_CONT, reflector_device_name="veth0"),
     lib.PF_RING_ERROR_INVALID_ARGUMENT, "reflector device 'veth0' is a capture device"),
    (Rule(rule_id=9, rule_action=REFLECT), lib.PF_RING_ERROR_INVALID_ARGUMENT,
     "a reflect action needs a reflector_device_name"),
    (Rule(rule_id=9, rule_action=REFLECT, reflector_device_name="lo"),
     lib.PF_RING_ERROR_NOT_SUPPORTED, "reflector device 'lo' is not an Ethernet device"),
])
def test_bad_reflect_rules_are_refused_and_change_nothing(pair, rule, code, text):
    p = pair
    frames = [packet(p, i) for i in range(3)]
    before = tcx_links()
    with open_ring(p) as ring:
        ring.add_rule(Rule(rule_id=1, proto=17))
        ring.set_policy(False)
        with pytest.raises(PFRingError, match=text) as err:
            ring.add_rule(rule)
        assert err.value.code == code
        assert tcx_links() - before == set()
        with pytest.raises(PFRingError, match="rule_id 9 is not a filtering rule"):
            ring.rule_stats(9)
        assert serials([(0, d) for d in run(p, ring, frames)[0]]) == [0, 1, 2]


def test_a_name_without_its_nul_is_refused(pair):
    with open_ring(pair) as ring:
        rc = lib.pfring_add_filtering_rule(ring._h(), raw_rule(REFLECT, b"rf0rf0rf"))
        assert rc == lib.PF_RING_ERROR_INVALID_ARGUMENT
        assert "not NUL-terminated within its 8 bytes" in ring.last_error


def test_bad_hash_reflect_rule(pair):
    flow = dict(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", proto=17)
    with open_ring(pair) as ring:
        with pytest.raises(PFRingError, match="reflector device 'veth0' is a capture device"):
            ring.add_hash_rule(HashRule(rule_action=REFLECT, reflector_device_name="veth0",
                                        **flow))
        with pytest.raises(PFRingError, match="is not a hash filtering rule"):
            ring.hash_rule_stats(HashRule(**flow))


def test_rings_that_cannot_reflect(pair):
    p = pair
    with p.a.enter():
        anyring = Ring("any", 1536)
        loring = Ring("lo", 1536)
        clustered = Ring(p.if_a, 1536)
        later = Ring(p.if_a, 1536)
    with anyring, loring, clustered, later:
        with pytest.raises(PFRingError, match="need a ring bound to devices, not 'any'") as err:
            anyring.add_rule(Rule(rule_id=1, rule_action=BOUNCE))
        assert err.value.code == lib.PF_RING_ERROR_NOT_SUPPORTED
        with pytest.raises(PFRingError, match="need an Ethernet device"):
            loring.add_rule(Rule(rule_id=1, rule_action=BOUNCE))
        clustered.set_cluster(77)
        with pytest.raises(PFRingError, match="not supported on a ring in a cluster"):
            clustered.add_rule(Rule(rule_id=1, rule_action=REFLECT, reflector_device_name="rf0"))
        later.add_rule(Rule(rule_id=1, rule_action=REFLECT, reflector_device_name="rf0"))
        with pytest.raises(PFRingError, match="reflect or bounce rules cannot join a cluster"):
            later.set_cluster(78)
        later.remove_rule(1)
        later.set_cluster(78)


def test_both_directions_of_a_flow_are_reflected(pair):
    """A hash rule and a bidirectional wildcard rule match both directions of
    their flow: each direction's frames go out of the reflector, byte for
    byte, and the other flows reach the ring."""
    p = pair
    fwd = [packet(p, i, src="10.1.0.1", dst="10.2.0.1", sport=1000, dport=2000)
           for i in range(3)]
    rev = [packet(p, 10 + i, src="10.2.0.1", dst="10.1.0.1", sport=2000, dport=1000)
           for i in range(3)]
    other = [packet(p, 20, src="10.1.0.1", dst="10.2.0.1", sport=1001, dport=2000)]
    frames = [f for pair_ in zip(fwd, rev) for f in pair_] + other
    flow = dict(host_peer_a="10.1.0.1", host_peer_b="10.2.0.1", port_peer_a=1000,
                port_peer_b=2000, proto=17)
    for how in ("hash", "wildcard"):
        with open_ring(p) as ring, watcher(p, "rf1") as out:
            if how == "hash":
                ring.add_hash_rule(HashRule(rule_action=REFLECT, reflector_device_name="rf0",
                                            **flow))
            else:
                ring.add_rule(Rule(rule_id=1, shost="10.1.0.1", dhost="10.2.0.1", sport=1000,
                                   dport=2000, proto=17, bidirectional=True,
                                   rule_action=REFLECT, reflector_device_name="rf0"))
            got, reflected = run(p, ring, frames, out)
            assert got == other, how
            assert reflected == frames[:6], how
            assert ring.reflection_stats() == (6, 0), how


def test_the_status_tree_counts_the_copies(pair):
    """PF_RING's "Reflect: Fwd Ok" / "Fwd Errors" lines count them (the
    status worker rewrites them every second)."""
    from pcap_pfring import status
    p = pair
    frames = [packet(p, i) for i in range(5)]
    with open_ring(p) as ring, watcher(p, "rf1") as out:
        ring.add_rule(Rule(rule_id=1, rule_action=REFLECT, reflector_device_name="rf0"))
        assert len(run(p, ring, frames, out)[1]) == 5

        def fwd():
            mine = [r for r in status.list_rings() if r.ring_id == ring.ring_id]
            return mine and (mine[0].fields["Reflect: Fwd Ok"],
                             mine[0].fields["Reflect: Fwd Errors"])
        deadline = time.monotonic() + 5
        while fwd() != ("5", "0") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fwd() == ("5", "0")


def test_only_an_enabled_ring_reflects(pair):
    """As PF_RING's rules, the reflector acts on an enabled ring only:
    nothing before the first enable, nothing while disabled, and its link
    comes and goes with it."""
    p = pair
    frames = [packet(p, i) for i in range(3)]
    before = tcx_links()
    with open_ring(p) as ring, watcher(p, "rf1") as out:
        ring.add_rule(Rule(rule_id=1, rule_action=REFLECT, reflector_device_name="rf0"))
        assert tcx_links() - before == set()
        send_from_b(p, frames)
        assert drain(out, quiet=0.4) == []
        for _ in range(2):
            ring.enable()
            assert len(tcx_links() - before) == 1
            send_from_b(p, frames)
            assert [d for _, d in drain(out, quiet=0.4)] == frames
            ring.disable()
            assert tcx_links() - before == set()
            send_from_b(p, frames)
            assert drain(out, quiet=0.4) == []
        assert ring.reflection_stats() == (6, 0)
