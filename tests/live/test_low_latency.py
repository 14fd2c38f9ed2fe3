"""Immediate mode: Ring.set_batching(1) (pfring_set_batching with a 1 ms
timeout) makes the AF_PACKET ring a TPACKET_V2 ring of one frame per packet,
which the reader sees as soon as the kernel wrote it, where a batched ring
(TPACKET_V3) waits for its block to fill or retire.  Everything else must be
as on a batched ring: the same frames, headers, bursts, counts and stats
(test_ring.py, test_kernel_stats.py and test_views_after_close.py run on
both too).  Real frames through a veth pair; exact outcomes.
"""
import socket
import threading
import time

import pytest

from pcap_pfring import InvalidStatusError, Ring, ffi, lib
from pcap_pfring.testing.burst import c_burst as _c_burst
from pcap_pfring.testing.burst import queued
from pcap_pfring.testing.fixtures import collect, drain, frame, send_from_b

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5
SMALL_RING = 256 * 1024        # one kernel block: about 160 frames of caplen 1536


def numbered(pair, n, start=0, size=100, vlan=None):
    return [frame(pair.mac_a, pair.mac_b, ETH_TEST,
                  i.to_bytes(4, "big") + bytes((i + k) & 0xFF for k in range(size - 18)),
                  vlan=vlan)
            for i in range(start, start + n)]


def ring_in_a(pair, batching=1, buffer_size=None, enable=True, **kw):
    with pair.a.enter():
        ring = Ring(pair.if_a, **kw)
    ring.set_batching(batching)
    if buffer_size:
        ring.set_buffer_size(buffer_size)
    if enable:
        ring.enable()
    return ring


def c_burst(ring, max_pkts, wait=0):
    return _c_burst(ring, max_pkts, wait, keep=True)


def arrival_order(pair, rings, timeout=5.0):
    """Send one frame; each ring's thread blocks in recv until it is there.
    Returns the ring indexes in the order they got it, and the frames."""
    got, order, lock = {}, [], threading.Lock()

    def reader(i, ring):
        pkt = ring.recv(timeout=timeout)
        with lock:
            order.append(i)
            got[i] = pkt and pkt[1]

    threads = [threading.Thread(target=reader, args=(i, r)) for i, r in enumerate(rings)]
    for t in threads:
        t.start()
    time.sleep(0.1)                  # every reader is waiting
    sent = numbered(pair, 1)[0]
    send_from_b(pair, [sent])
    for t in threads:
        t.join(timeout + 2)
    assert not any(t.is_alive() for t in threads)
    assert got == {i: sent for i in range(len(rings))}
    return order


# -- latency -------------------------------------------------------------------


def test_one_packet_is_delivered_without_waiting_for_a_block_timer(veth_pair):
    """A batched ring whose blocks retire 1 s after their first packet sees a
    lone frame when the block retires; the immediate ring sees it first."""
    with ring_in_a(veth_pair, batching=1000) as batched, ring_in_a(veth_pair) as immediate:
        assert arrival_order(veth_pair, [batched, immediate]) == [1, 0]


def test_immediate_mode_survives_leaving_a_cluster(veth_pair):
    """remove_from_cluster moves the ring to a new socket: still TPACKET_V2."""
    with ring_in_a(veth_pair, enable=False) as ring, ring_in_a(veth_pair, batching=1000) as batched:
        ring.set_cluster(37)
        ring.enable()
        ring.remove_from_cluster()
        assert arrival_order(veth_pair, [batched, ring]) == [1, 0]
        frames = numbered(veth_pair, 30)
        send_from_b(veth_pair, frames)
        assert [d for _, d in collect(ring, 30)] == frames


def test_batching_set_again_goes_back_to_blocks(veth_pair):
    with ring_in_a(veth_pair, enable=False) as ring, ring_in_a(veth_pair) as immediate:
        ring.set_batching(1)
        ring.set_batching(1000)         # a batched ring again, before enable
        ring.enable()
        assert arrival_order(veth_pair, [ring, immediate]) == [1, 0]


def test_batching_after_enable_is_refused(veth_pair):
    with ring_in_a(veth_pair, batching=5) as ring:
        with pytest.raises(InvalidStatusError, match="before pfring_enable_ring"):
            ring.set_batching(1)


# -- the same receive path as a batched ring --------------------------------------


def test_frames_headers_and_order(veth_pair):
    frames = numbered(veth_pair, 200, size=300)
    with veth_pair.a.enter():
        ifindex = socket.if_nametoindex(veth_pair.if_a)
    with ring_in_a(veth_pair) as ring:
        before = time.time_ns()
        send_from_b(veth_pair, frames)
        got = [ring.recv(timeout=2) for _ in frames]
        after = time.time_ns()
        assert ring.recv() is None
        assert [d for _, d in got] == frames
        assert all(h.rx and h.caplen == h.len == len(f) and h.if_index == ifindex
                   for (h, _), f in zip(got, frames))
        stamps = [h.ts_ns for h, _ in got]
        assert stamps == sorted(stamps) and before - 10**9 < stamps[0] <= stamps[-1] <= after
        assert ring.stats().recv == 200 and ring.stats().drop == 0


def test_caplen_cuts_frames(veth_pair):
    frames = numbered(veth_pair, 5, size=1000)
    with ring_in_a(veth_pair, caplen=128) as ring:
        send_from_b(veth_pair, frames)
        got = collect(ring, 5)
    assert [d for _, d in got] == [f[:128] for f in frames]
    assert {(h.caplen, h.len) for h, _ in got} == {(128, 1000)}


def test_burst_is_every_ready_frame_up_to_max_and_pointers_stay_valid(veth_pair):
    frames = numbered(veth_pair, 40)
    with veth_pair.a.enter():
        ifindex = socket.if_nametoindex(veth_pair.if_a)
    with ring_in_a(veth_pair) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, 40)
        assert lib.pfring_is_pkt_available(ring._h()) == 1
        ts = ffi.new("struct timespec *")
        assert lib.pfring_next_pkt_time(ring._h(), ts) == 0
        rc1, first, _ = c_burst(ring, 15)
        assert first[0][6] == ts.tv_sec * 10**9 + ts.tv_nsec
        rc2, rest, _ = c_burst(ring, 100)
        rc3, _, _ = c_burst(ring, 100)
        assert (rc1, rc2, rc3) == (15, 25, 0)
        got = first + rest
        assert [g[0] for g in got] == frames
        assert all(g[1] == g[2] == len(f) for g, f in zip(got, frames))
        assert {(g[3], g[4], g[5]) for g in got} == {(ifindex, 1, 0)}
        assert lib.pfring_is_pkt_available(ring._h()) == 0
        assert lib.pfring_next_pkt_time(ring._h(), ts) == lib.PF_RING_ERROR_NO_PKT_AVAILABLE
        assert ring.stats().recv == 40


def test_the_ring_wraps_around_in_order(veth_pair):
    """Three rounds through a ring of about 160 frames: every frame, in
    order, with bursts that run over the end of the ring."""
    with ring_in_a(veth_pair, caplen=1536, buffer_size=SMALL_RING) as ring:
        for r in range(3):
            frames = numbered(veth_pair, 120, start=r * 120)
            send_from_b(veth_pair, frames)
            queued(ring, 120)
            got = []
            for _ in range(200):
                rc, pkts, _ = c_burst(ring, 50)
                if rc == 0:
                    break
                got.extend(p[0] for p in pkts)
            assert got == frames
        assert ring.stats().recv == 360 and ring.stats().drop == 0


def test_vlan_tags_go_back_into_the_frame_with_their_metadata(veth_pair):
    tagged = numbered(veth_pair, 3, vlan=9)
    plain = numbered(veth_pair, 2, start=10)
    with ring_in_a(veth_pair) as ring:
        send_from_b(veth_pair, tagged + plain)
        queued(ring, 5)
        rc, got, arr = c_burst(ring, 10)
        assert rc == 5
        assert [g[0] for g in got] == tagged + plain
        assert [g[5] for g in got] == [lib.PKT_FLAGS_VLAN_HWACCEL] * 3 + [0, 0]
        link = ffi.new("struct pfring_pkt_link *")
        for i in range(5):
            assert lib.pfring_get_pkt_link(ring._h(), arr[i].data, link) == 0
            want = (0x8100, 9, 18) if i < 3 else (0, 0, 14)
            assert (link.vlan_tpid, link.vlan_tci, link.net_offset) == want
            assert (link.protocol, link.pkttype, link.halen) == (ETH_TEST, 0, 6)
            assert bytes(link.addr)[:6] == veth_pair.mac_b
        assert lib.pfring_get_pkt_link(ring._h(), arr[0].data + 1, link) == \
            lib.PF_RING_ERROR_INVALID_ARGUMENT
        assert "not a packet" in ffi.string(lib.pfring_last_error(ring._h())).decode()
        # after the next receive call the frames are the kernel's again
        assert c_burst(ring, 10)[0] == 0
        assert lib.pfring_get_pkt_link(ring._h(), arr[0].data, link) == \
            lib.PF_RING_ERROR_INVALID_ARGUMENT


def test_recv_count_counts_every_frame_and_its_length(veth_pair):
    frames = numbered(veth_pair, 30, size=200) + numbered(veth_pair, 4, start=30, vlan=3)
    with ring_in_a(veth_pair) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, 34)
        assert ring.recv_count() == (34, sum(len(f) for f in frames))
        assert ring.recv_count() == (0, 0)
        assert ring.stats().recv == 34


def test_drops_when_the_ring_is_full(veth_pair):
    """Nothing read while 400 frames arrive at a ring of about 160: recv
    counts all, drop exactly those never delivered, and the ring keeps
    working once read."""
    n = 400
    with ring_in_a(veth_pair, caplen=1536, buffer_size=SMALL_RING) as ring:
        sent = numbered(veth_pair, n, size=1000)
        for i in range(0, n, 50):
            send_from_b(veth_pair, sent[i:i + 50])
            time.sleep(0.005)
        time.sleep(0.2)
        before = ring.kernel_stats()
        got = [d for _, d in drain(ring)]
        after = ring.kernel_stats()
        st = ring.stats()
        assert before == after
        assert after.recv == n and 0 < len(got) < n
        assert got == sent[:len(got)]                # the first ones, in order
        assert after.drop == n - len(got)
        assert (st.recv, st.drop) == (len(got), after.drop)
        more = numbered(veth_pair, 10, start=n)
        send_from_b(veth_pair, more)
        assert [d for _, d in collect(ring, 10)] == more


def test_poll_watermark_and_num_queued(veth_pair):
    with ring_in_a(veth_pair) as ring:
        ring.set_poll_watermark(8)
        assert ring.poll(100) is False
        send_from_b(veth_pair, numbered(veth_pair, 3))
        assert ring.poll(200) is False
        assert ring.num_queued == 3
        send_from_b(veth_pair, numbered(veth_pair, 5, start=3))
        assert ring.poll(2000) is True
        assert ring.num_queued == 8


def test_close_while_a_reader_is_blocked(veth_pair):
    ring = ring_in_a(veth_pair)
    result = {}

    def run():
        try:
            result["pkt"] = ring.recv(wait=True)
        except InvalidStatusError as e:
            result["error"] = str(e)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    assert t.is_alive()
    ring.close()
    t.join(5)
    assert not t.is_alive()
    assert result.get("pkt") is None
    with pytest.raises(InvalidStatusError, match="after close"):
        ring.recv()


def test_breakloop_ends_a_loop(veth_pair):
    frames = numbered(veth_pair, 5)
    with ring_in_a(veth_pair) as ring:
        seen = []

        def cb(h, view):
            seen.append(bytes(view))
            if len(seen) == 5:
                ring.breakloop()

        t = threading.Thread(target=lambda: ring.loop(cb))
        t.start()
        time.sleep(0.1)
        send_from_b(veth_pair, frames)
        t.join(5)
        assert not t.is_alive()
        assert seen == frames
