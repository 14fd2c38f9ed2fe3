"""Live datapath tests: real frames through a veth pair in throwaway namespaces.

Frames are sent from namespace b with a plain AF_PACKET socket (not with the
code under test) and captured by a Ring in namespace a.  The namespaces have
IPv6 disabled, so the only traffic is the tests' own.
"""
import threading
import time

import pytest

from pcap_pfring import Direction, Flags, Ring
from pcap_pfring.testing.fixtures import collect, drain, frame, send_from_b
from pcap_pfring.testing.ring_modes import open_in_a, ring_mode_zc, skip_on_zc  # noqa: F401

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5   # IEEE local experimental ethertype


def numbered(pair, n, start=0, size=60, vlan=None, src=None, ethertype=ETH_TEST):
    src = src or pair.mac_b
    out = []
    for i in range(start, start + n):
        payload = i.to_bytes(4, "big") + bytes((i + k) & 0xFF for k in range(size))
        out.append(frame(pair.mac_a, src, ethertype, payload[: max(4, size - 14)], vlan=vlan))
    return out


# Every test runs on a batched ring (TPACKET_V3) and on one in immediate
# mode (TPACKET_V2), which must behave the same (pcap_pfring.testing.ring_modes).


def test_every_frame_arrives_identical_in_order(veth_pair):
    frames = numbered(veth_pair, 500, size=200)
    with open_in_a(veth_pair, enable=True) as ring:
        send_from_b(veth_pair, frames)
        got = collect(ring, len(frames))
        assert [data for _, data in got] == frames
        assert all(h.rx and h.caplen == h.len == len(f) for (h, _), f in zip(got, frames))
        assert ring.stats().recv == len(frames)
        assert ring.stats().drop == 0
        assert drain(ring) == []


def test_timestamps_are_nanoseconds_and_ordered(veth_pair):
    frames = numbered(veth_pair, 20)
    with open_in_a(veth_pair, enable=True) as ring:
        before = time.time_ns()
        send_from_b(veth_pair, frames)
        got = collect(ring, 20)
        after = time.time_ns()
    stamps = [h.ts_ns for h, _ in got]
    assert stamps == sorted(stamps)
    assert before - 10**9 < stamps[0] <= stamps[-1] <= after
    assert any(ts % 1000 for ts in stamps)   # sub-microsecond digits are present


def test_nothing_before_enable(veth_pair):
    with open_in_a(veth_pair) as ring:
        send_from_b(veth_pair, numbered(veth_pair, 50))
        time.sleep(0.2)
        ring.enable()
        late = numbered(veth_pair, 10, start=1000)
        send_from_b(veth_pair, late)
        assert [d for _, d in collect(ring, 10)] == late
        assert drain(ring) == []


def test_disable_stops_delivery(veth_pair):
    with open_in_a(veth_pair, enable=True) as ring:
        first = numbered(veth_pair, 5)
        send_from_b(veth_pair, first)
        assert [d for _, d in collect(ring, 5)] == first
        ring.disable()
        send_from_b(veth_pair, numbered(veth_pair, 5, start=100))
        time.sleep(0.2)
        ring.enable()
        again = numbered(veth_pair, 5, start=200)
        send_from_b(veth_pair, again)
        assert [d for _, d in collect(ring, 5)] == again
        assert drain(ring) == []


@pytest.mark.parametrize("direction, want_rx, want_tx", [
    (Direction.RX_AND_TX, True, True),
    (Direction.RX_ONLY, True, False),
    (Direction.TX_ONLY, False, True),
])
def test_direction(veth_pair, direction, want_rx, want_tx):
    if want_tx:
        skip_on_zc("XDP runs on received frames only: a zc: ring never sees what the host sends")
    rx_frames = numbered(veth_pair, 10)
    tx_frames = [frame(veth_pair.mac_b, veth_pair.mac_a, ETH_TEST, b"tx" + bytes([i]) * 20)
                 for i in range(10)]
    with open_in_a(veth_pair) as ring:
        ring.set_direction(direction)
        ring.enable()
        send_from_b(veth_pair, rx_frames)
        sa = veth_pair.a.raw_socket(veth_pair.if_a)
        for f in tx_frames:
            sa.send(f)
        sa.close()
        got = drain(ring)
    rx = [d for h, d in got if h.rx]
    tx = [d for h, d in got if not h.rx]
    assert rx == (rx_frames if want_rx else [])
    assert tx == (tx_frames if want_tx else [])


def test_direction_can_change_after_enable(veth_pair):
    skip_on_zc("XDP runs on received frames only: TX_ONLY has nothing to capture")
    with open_in_a(veth_pair, enable=True) as ring:
        ring.set_direction(Direction.TX_ONLY)
        send_from_b(veth_pair, numbered(veth_pair, 10))
        assert drain(ring) == []


def test_vlan_tag_is_reinserted(veth_pair):
    tagged = numbered(veth_pair, 10, vlan=42)
    qinq = [frame(veth_pair.mac_a, veth_pair.mac_b, 0x8100,
                  (7).to_bytes(2, "big") + ETH_TEST.to_bytes(2, "big") + b"q" * 30, vlan=300)]
    with open_in_a(veth_pair, enable=True) as ring:
        send_from_b(veth_pair, tagged + qinq)
        got = collect(ring, 11)
    assert [d for _, d in got] == tagged + qinq


def test_vlan_device_name_filters_one_vlan(veth_pair):
    skip_on_zc("zc: names an interface and its queues; a VLAN of it is not a zc: device")
    v10 = numbered(veth_pair, 5, vlan=10)
    v20 = numbered(veth_pair, 5, start=50, vlan=20)
    plain = numbered(veth_pair, 5, start=100)
    with open_in_a(veth_pair, device=f"{veth_pair.if_a}.10", enable=True) as ring:
        send_from_b(veth_pair, v20 + v10 + plain)
        assert [d for _, d in drain(ring)] == v10


@pytest.mark.parametrize("expr, want", [("vlan 20", "v20"), ("vlan", "tagged"),
                                         ("not vlan", "plain"), ("vlan 10 or vlan 30", "v10")])
def test_vlan_filters_run_in_user_space_on_the_tagged_frame(veth_pair, expr, want):
    """The kernel filter sees a received frame with its tag taken out, so an
    expression about VLAN tags runs in user space, on the frame with its tag
    back, and matches as stock libpcap's live captures do."""
    v10 = numbered(veth_pair, 5, vlan=10)
    v20 = numbered(veth_pair, 5, start=50, vlan=20)
    plain = numbered(veth_pair, 5, start=100)
    expected = {"v20": v20, "v10": v10, "plain": plain,
                "tagged": [f for pair in zip(v20, v10) for f in pair]}[want]
    with open_in_a(veth_pair) as ring:
        ring.set_bpf_filter(expr)
        ring.enable()
        send_from_b(veth_pair, [f for trio in zip(v20, v10, plain) for f in trio])
        assert [d for _, d in drain(ring)] == expected
        assert ring.stats().recv == len(expected)


def test_userspace_bpf_flag_filters_in_user_space(veth_pair):
    """PF_RING_USERSPACE_BPF: the program runs in pfring_recv on the whole
    frame (so a tagged frame's type is 0x8100 there), every frame reaches the
    ring."""
    tagged = numbered(veth_pair, 4, vlan=7)
    plain = numbered(veth_pair, 4, start=40)
    with open_in_a(veth_pair, flags=Flags.USERSPACE_BPF) as ring:
        ring.set_bpf_filter(f"ether proto {ETH_TEST:#x}")
        ring.enable()
        send_from_b(veth_pair, tagged + plain)
        time.sleep(0.3)
        assert ring.num_queued == len(tagged) + len(plain)     # nothing held back in the kernel
        assert [d for _, d in drain(ring)] == plain


def test_sampling_exactly_one_of_n(veth_pair):
    frames = numbered(veth_pair, 100)
    with open_in_a(veth_pair) as ring:
        ring.set_sampling_rate(10)
        ring.enable()
        send_from_b(veth_pair, frames)
        got = [d for _, d in drain(ring)]
    assert got == frames[::10]


def test_bpf_filter_runs_in_kernel(veth_pair):
    keep = numbered(veth_pair, 20, ethertype=0x88B6)
    reject = numbered(veth_pair, 30, start=100)
    with open_in_a(veth_pair) as ring:
        ring.set_bpf_filter("ether proto 0x88b6")
        ring.enable()
        mixed = [f for pair in zip(reject[:20], keep) for f in pair] + reject[20:]
        send_from_b(veth_pair, mixed)
        time.sleep(0.3)
        # Only the accepted frames were ever queued in the ring.
        assert ring.num_queued == len(keep)
        assert [d for _, d in drain(ring)] == keep
        ring.remove_bpf_filter()
        send_from_b(veth_pair, reject[:3])
        assert [d for _, d in drain(ring)] == reject[:3]


def test_any_captures_from_several_interfaces(veth_pair):
    pair = veth_pair
    pair.add_link("veth2", "veth3")
    one = numbered(pair, 5)
    two = numbered(pair, 5, start=500)
    skip_on_zc("a zc: ring is on one interface (its queues); there is no zc: any")
    for device in ("any", f"{pair.if_a},veth2"):
        with open_in_a(pair, device=device) as ring:
            ring.set_direction(Direction.RX_ONLY)
            ring.enable()
            send_from_b(pair, one)
            send_from_b(pair, two, ifname="veth3")
            got = drain(ring)
            with pair.a.enter():
                import socket
                idx = {socket.if_nametoindex(pair.if_a), socket.if_nametoindex("veth2")}
        assert sorted(d for _, d in got) == sorted(one + two), device
        assert {h.if_index for h, _ in got} == idx, device


def test_queue_channels_on_multiqueue_veth(veth_pair_mq):
    import socket
    pair = veth_pair_mq
    with pair.a.enter():
        whole = Ring(pair.if_a)
        assert whole.num_rx_channels == 4
        queues = [Ring(f"{pair.if_a}@{q}") for q in range(4)]
    rings = [whole, *queues]
    try:
        for r in rings:
            r.set_bpf_filter("udp and dst port 9")
            r.enable()
        # 400 UDP flows through the stack of b, which spreads them over its
        # 4 TX queues by flow hash; veth delivers each on the matching RX queue.
        with pair.b.enter():
            for i in range(400):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind((pair.ip_b, 20000 + i))
                    s.sendto(i.to_bytes(4, "big"), (pair.ip_a, 9))
        everything = sorted(d for _, d in drain(whole))
        per_queue = [sorted(d for _, d in drain(r)) for r in queues]
    finally:
        for r in rings:
            r.close()
    assert len(everything) == 400
    assert sorted(d for q in per_queue for d in q) == everything   # disjoint and complete
    assert sum(1 for q in per_queue if q) >= 2, [len(q) for q in per_queue]


def test_zero_copy_and_copy_modes_agree(veth_pair):
    frames = numbered(veth_pair, 50, size=300)
    with pair_rings(veth_pair) as (zc, copy):
        send_from_b(veth_pair, frames)
        seen_zc = []
        zc.loop(lambda h, view: seen_zc.append(bytes(view)), count=50, timeout=2)
        seen_copy = [d for _, d in collect(copy, 50)]
    assert seen_zc == frames
    assert seen_copy == frames


class pair_rings:
    """A zero-copy ring and a copying (PF_RING_REENTRANT) ring on veth a."""

    def __init__(self, pair):
        with pair.a.enter():
            self.rings = (Ring(pair.if_a, enable=True),
                          Ring(pair.if_a, flags=Flags.REENTRANT, enable=True))

    def __enter__(self):
        return self.rings

    def __exit__(self, *exc):
        for r in self.rings:
            r.close()


def test_breakloop_from_another_thread(veth_pair):
    with open_in_a(veth_pair, enable=True) as ring:
        result = {}

        def run():
            result["n"] = ring.loop(lambda h, v: None)

        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.3)
        assert t.is_alive()
        ring.breakloop()
        t.join(5)
        assert not t.is_alive()
        assert result["n"] == 0


def test_breakloop_wakes_blocking_recv(veth_pair):
    with open_in_a(veth_pair, enable=True) as ring:
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("pkt", ring.recv(wait=True)))
        t.start()
        time.sleep(0.3)
        ring.breakloop()
        t.join(5)
        assert not t.is_alive()
        assert result["pkt"] is None


def test_loop_reraises_callback_exception(veth_pair):
    with open_in_a(veth_pair, enable=True) as ring:
        send_from_b(veth_pair, numbered(veth_pair, 5))

        def boom(h, view):
            raise RuntimeError("stop here")

        with pytest.raises(RuntimeError, match="stop here"):
            ring.loop(boom, timeout=2)


def test_send_transmits_exact_bytes(veth_pair):
    frames = [frame(veth_pair.mac_b, veth_pair.mac_a, ETH_TEST, bytes([i]) * 40) for i in range(10)]
    with veth_pair.b.enter():
        rx = Ring(veth_pair.if_b, enable=True)
    with open_in_a(veth_pair) as tx, rx:
        for f in frames:
            assert tx.send(f) == len(f)
        assert [d for _, d in collect(rx, 10)] == frames


def test_send_too_long_gives_clear_error(veth_pair):
    from pcap_pfring import InvalidArgumentError
    with open_in_a(veth_pair) as ring:
        with pytest.raises(InvalidArgumentError, match="longer than 'veth0' allows"):
            ring.send(frame(veth_pair.mac_b, veth_pair.mac_a, ETH_TEST, b"x" * 1600))


def test_poll_honours_watermark_and_duration(veth_pair):
    with open_in_a(veth_pair, enable=True) as ring:
        ring.set_poll_watermark(8)
        t0 = time.monotonic()
        assert ring.poll(300) is False          # nothing: waits the duration
        assert time.monotonic() - t0 >= 0.25
        send_from_b(veth_pair, numbered(veth_pair, 3))
        assert ring.poll(300) is False          # 3 < watermark
        send_from_b(veth_pair, numbered(veth_pair, 5, start=3))
        assert ring.poll(2000) is True          # 8 queued
        assert ring.num_queued == 8


def test_fileno_is_pollable(veth_pair):
    import select
    with open_in_a(veth_pair, enable=True) as ring:
        fd = ring.fileno()
        assert select.select([fd], [], [], 0.2)[0] == []
        send_from_b(veth_pair, numbered(veth_pair, 1))
        assert select.select([fd], [], [], 2)[0] == [fd]
