"""Leaving a cluster keeps the ring: its counters, batching and filter stay,
and the calling thread's network namespace never changes.

A ring that leaves its fanout group moves to a new socket made in the
ring's namespace (the caller here is in another one), so everything the
handle was given must be carried over exactly."""
import os
import time

import pytest

from pcap_pfring import ClusterType, Ring, status
from pcap_pfring.testing.fixtures import frame, send_from_b

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5
BLOCK = 4096                      # pfring_set_batching's block size: one page
# A block holds at most this many 60-byte frames: each takes its 60 bytes
# plus a 48-byte tpacket3 header (and more: alignment, the sockaddr_ll).
PER_BLOCK = BLOCK // (60 + 48)


def thread_netns():
    return os.readlink("/proc/thread-self/ns/net")


def receive(ring, n, timeout=5.0):
    """Batch sizes until n packets arrived (or the timeout)."""
    sizes, deadline = [], time.monotonic() + timeout
    while sum(sizes) < n and time.monotonic() < deadline:
        got = len(ring.recv_batch(1024, timeout=0.1))
        if got:
            sizes.append(got)
    return sizes


def status_fields(ring, device):
    path = os.path.join(status.status_dir(), f"{os.getpid()}-{device}.{ring.ring_id}")
    with open(path) as f:
        return status.parse_fields(f.read())


def test_remove_keeps_counters_batching_filter_and_thread_namespace(veth_pair):
    pair = veth_pair
    frames = [frame(pair.mac_a, pair.mac_b, ETH_TEST, i.to_bytes(4, "big") * 4)
              for i in range(80)]
    with pair.a.enter():
        ring = Ring(pair.if_a)
        other = Ring(pair.if_a)
    with ring, other:
        ring.set_batching(1000, BLOCK)      # full blocks only, long retire timeout
        for r in (ring, other):
            r.set_bpf_filter(f"ether proto {ETH_TEST:#x}")
            r.set_cluster(61, ClusterType.ROUND_ROBIN)
            r.enable()

        send_from_b(pair, frames[:40])
        before = receive(ring, 20)
        assert sum(before) == 20                   # round robin: exactly half
        assert max(before) <= PER_BLOCK, before    # the small blocks
        assert sum(receive(other, 20)) == 20
        assert (ring.stats().recv, ring.stats().drop) == (20, 0)

        ns = thread_netns()
        ring.remove_from_cluster()
        assert thread_netns() == ns                # the caller never moved
        f = status_fields(ring, pair.if_a)         # rewritten by the call
        assert (f["Tot Packets"], f["Tot Read"]) == ("20", "20")
        assert (ring.stats().recv, ring.stats().drop) == (20, 0)

        send_from_b(pair, frames[40:])
        after = receive(ring, 40)
        assert sum(after) == 40                    # no longer shares with other
        assert max(after) <= PER_BLOCK, after      # batching still applies
        assert sum(receive(other, 40)) == 40       # alone in the group now
        assert (ring.stats().recv, ring.stats().drop) == (60, 0)
        ring.set_application_name("core-cluster")  # rewrites the status file
        f = status_fields(ring, pair.if_a)
        assert (f["Tot Packets"], f["Tot Read"], f["Tot Pkt Lost"]) == ("60", "60", "0")
        assert thread_netns() == ns

        # the ring can join again, and leave again, from inside its namespace too
        ring.set_cluster(62, ClusterType.PER_FLOW_5_TUPLE)
        with pair.a.enter():
            inside = thread_netns()
            ring.remove_from_cluster()
            assert thread_netns() == inside
        assert thread_netns() == ns
        send_from_b(pair, frames[:10])
        assert sum(receive(ring, 10)) == 10
        assert ring.stats().recv == 70


def test_remove_before_enable_keeps_the_ring_usable(veth_pair):
    pair = veth_pair
    frames = [frame(pair.mac_a, pair.mac_b, ETH_TEST, bytes([i]) * 16) for i in range(12)]
    with pair.a.enter():
        ring = Ring(pair.if_a)
    with ring:
        ring.set_batching(1000, BLOCK)
        ring.set_bpf_filter(f"ether proto {ETH_TEST:#x}")
        ring.set_cluster(63, ClusterType.ROUND_ROBIN)
        ring.remove_from_cluster()                 # never joined in the kernel
        ring.set_cluster(63, ClusterType.PER_FLOW)  # the registry entry went too
        ring.remove_from_cluster()
        ring.enable()
        send_from_b(pair, frames)
        sizes = receive(ring, 12)
        assert sum(sizes) == 12 and max(sizes) <= PER_BLOCK
