"""Burst receive: pfring_recv_burst in C, and the Batch and loop() built on
it in Python.  Real frames through a veth pair; every packet accounted for."""
import socket
import threading
import time

import pytest

from pcap_pfring import Batch, CopiedBatch, Flags, InvalidStatusError, Ring, ffi, lib
from pcap_pfring.testing.burst import c_burst, queued
from pcap_pfring.testing.fixtures import collect, drain, frame, send_from_b

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5


def numbered(pair, n, start=0, size=100, vlan=None):
    return [frame(pair.mac_a, pair.mac_b, ETH_TEST,
                  i.to_bytes(4, "big") + bytes((i + k) & 0xFF for k in range(size - 18)),
                  vlan=vlan)
            for i in range(start, start + n)]


def ring_in_a(pair, **kw):
    with pair.a.enter():
        return Ring(pair.if_a, **kw)


def one_block_ring(pair, **kw):
    """An enabled ring whose kernel blocks retire 300 ms after their first
    packet: a short send lands in one block."""
    ring = ring_in_a(pair, **kw)
    ring.set_batching(300)
    ring.enable()
    return ring


# -- pfring_recv_burst ----------------------------------------------------------


def test_c_burst_gives_every_packet_in_order_with_its_header(veth_pair):
    frames = numbered(veth_pair, 40)
    with veth_pair.a.enter():
        ifindex = socket.if_nametoindex(veth_pair.if_a)
    with one_block_ring(veth_pair) as ring:
        before = time.time_ns()
        send_from_b(veth_pair, frames)
        queued(ring, 40)
        rc1, first = c_burst(ring, 15)
        rc2, rest = c_burst(ring, 100)
        rc3, none = c_burst(ring, 100)
        assert (rc1, rc2, rc3) == (15, 25, 0)
        got = first + rest
        assert [g[0] for g in got] == frames
        assert all(g[1] == g[2] == len(f) for g, f in zip(got, frames))
        assert {(g[3], g[4], g[5]) for g in got} == {(ifindex, 1, 0)}
        stamps = [g[6] for g in got]
        assert stamps == sorted(stamps) and before - 10**9 < stamps[0] <= time.time_ns()
        assert ring.stats().recv == 40


def test_c_burst_pointers_stay_valid_until_the_next_call_and_stop_at_a_block(veth_pair):
    """With 64 KiB blocks, 100 frames of 1,400 bytes fill several blocks: each
    burst is one block's packets, all readable after the burst returned."""
    frames = numbered(veth_pair, 100, size=1400)
    with ring_in_a(veth_pair) as ring:
        ring.set_batching(5, 64 * 1024)
        ring.enable()
        send_from_b(veth_pair, frames)
        queued(ring, 100)
        got, sizes = [], []
        while True:
            rc, pkts = c_burst(ring, 1000)
            if rc == 0:
                break
            sizes.append(rc)
            got.extend(p[0] for p in pkts)
    assert got == frames
    assert len(sizes) > 1 and max(sizes) * 1400 < 64 * 1024


def test_c_burst_sampling_filter_vlan_and_no_timestamp(veth_pair):
    tagged = numbered(veth_pair, 4, vlan=9)
    plain = numbered(veth_pair, 30, start=10)
    with ring_in_a(veth_pair, flags=Flags.DO_NOT_TIMESTAMP) as ring:
        ring.set_sampling_rate(3)
        ring.set_batching(300)
        ring.enable()
        send_from_b(veth_pair, tagged + plain)
        queued(ring, 34)
        rc, got = c_burst(ring, 100)
    want = (tagged + plain)[::3]
    assert rc == len(want)
    assert [g[0] for g in got] == want                          # tag back in place
    assert [g[5] for g in got[:2]] == [lib.PKT_FLAGS_VLAN_HWACCEL] * 2
    assert {g[6] for g in got} == {0}


def test_c_burst_userspace_filter_skips_whole_bursts(veth_pair):
    """A burst whose packets all fail the user-space filter is not returned as
    empty: the next packets are looked at."""
    reject = numbered(veth_pair, 20, vlan=5)
    keep = numbered(veth_pair, 3, start=50)
    with ring_in_a(veth_pair, flags=Flags.USERSPACE_BPF) as ring:
        ring.set_bpf_filter(f"ether proto {ETH_TEST:#x}")
        ring.enable()
        send_from_b(veth_pair, reject)
        queued(ring, 20)
        send_from_b(veth_pair, keep)
        queued(ring, 23)
        rc, got = c_burst(ring, 100)
        if rc < 3:                                # the second send is another block
            rc2, more = c_burst(ring, 100)
            rc, got = rc + rc2, got + more
    assert [g[0] for g in got] == keep


def test_c_burst_bad_calls_are_clear_errors(veth_pair):
    with ring_in_a(veth_pair) as ring:
        arr = ffi.new("struct pfring_burst_pkt[]", 4)
        assert lib.pfring_recv_burst(ring._h(), arr, 4, 0) == lib.PF_RING_ERROR_RING_NOT_ENABLED
        ring.enable()
        assert lib.pfring_recv_burst(ring._h(), ffi.NULL, 4, 0) == \
            lib.PF_RING_ERROR_INVALID_ARGUMENT
        assert "NULL" in ring.last_error
        assert lib.pfring_recv_burst(ring._h(), arr, 0, 0) == 0
    with ring_in_a(veth_pair, flags=Flags.REENTRANT, enable=True) as ring:
        assert lib.pfring_recv_burst(ring._h(), arr, 4, 0) == lib.PF_RING_ERROR_INVALID_ARGUMENT
        assert "REENTRANT" in ring.last_error


def test_c_burst_wait_is_cut_short_by_breakloop(veth_pair):
    with ring_in_a(veth_pair, enable=True) as ring:
        lib.pfring_set_poll_duration(ring._h(), 10000)
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("rc", c_burst(ring, 8, wait=1)[0]))
        t.start()
        time.sleep(0.3)
        assert t.is_alive()
        ring.breakloop()
        t.join(5)
        assert not t.is_alive() and result["rc"] == 0
        frames = numbered(veth_pair, 2)
        send_from_b(veth_pair, frames)
        assert [p[0] for p in c_burst(ring, 8, wait=1)[1]] == frames   # the break was consumed


# -- Batch ------------------------------------------------------------------------


def test_batch_is_a_zero_copy_sequence(veth_pair):
    frames = numbered(veth_pair, 12)
    with one_block_ring(veth_pair) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, 12)
        batch = ring.recv_batch(100, timeout=1)
        assert isinstance(batch, Batch) and len(batch) == 12 and batch
        assert batch.bytes == sum(map(len, frames))
        assert repr(batch) == f"<Batch of 12 packets, {batch.bytes} bytes>"
        assert [d for _, d in batch] == frames
        assert batch[0][1] == frames[0] and batch[-1][1] == frames[-1]
        assert [d for _, d in batch[2:5]] == frames[2:5]
        with pytest.raises(IndexError):
            batch[12]
        views = list(batch.views())
        assert all(isinstance(v, memoryview) and bytes(v) == f for (_, v), f in zip(views, frames))
        assert [h.len for h in batch.headers()] == [len(f) for f in frames]
        assert not ring.recv_batch(100)
        empty = ring.recv_batch(1)
        assert repr(empty) == "<Batch of 0 packets, 0 bytes>" and empty.bytes == 0
        assert len(batch) == 12 and batch.bytes == sum(map(len, frames))   # the summary stays


def test_batch_is_stale_after_the_next_receive(veth_pair):
    """The block goes back to the kernel at the next receive call: reading
    the batch then is an error that says so; copies survive."""
    frames = numbered(veth_pair, 6)
    with one_block_ring(veth_pair) as ring:
        send_from_b(veth_pair, frames[:3])
        queued(ring, 3)
        first = ring.recv_batch(10)
        kept = list(first)
        send_from_b(veth_pair, frames[3:])
        queued(ring, 3)
        second = ring.recv_batch(10)
        with pytest.raises(InvalidStatusError, match="next receive call"):
            first[0]
        with pytest.raises(InvalidStatusError):
            list(first.views())
        with pytest.raises(InvalidStatusError):
            first.headers()
        assert len(first) == 3
        assert [d for _, d in kept] == frames[:3]
        assert [d for _, d in second] == frames[3:]
        ring.close()
        with pytest.raises(InvalidStatusError):
            list(second)


def test_iterating_a_batch_stops_at_the_next_receive(veth_pair):
    frames = numbered(veth_pair, 4)
    with one_block_ring(veth_pair) as ring:       # the 4 frames in one block, one batch
        send_from_b(veth_pair, frames)
        queued(ring, 4)
        batch = ring.recv_batch(10)
        assert len(batch) == 4
        it = iter(batch)
        assert next(it)[1] == frames[0]
        rest = drain(ring)                         # receive calls: the block is given back
        with pytest.raises(InvalidStatusError):
            next(it)
        assert [d for _, d in rest] == frames[len(batch):]


def test_reentrant_ring_batch_is_a_copied_list(veth_pair):
    frames = numbered(veth_pair, 5)
    with ring_in_a(veth_pair, flags=Flags.REENTRANT, enable=True) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, 5)
        batch = ring.recv_batch(10, timeout=1)
        assert isinstance(batch, CopiedBatch) and isinstance(batch, list)
        assert [d for _, d in batch] == frames and batch.bytes == sum(map(len, frames))
        assert [bytes(v) for _, v in batch.views()] == frames
        assert [h.len for h in batch.headers()] == [len(f) for f in frames]
        empty = ring.recv_batch(1)
        assert isinstance(empty, CopiedBatch) and len(empty) == 0 and empty.bytes == 0
    assert [d for _, d in batch] == frames               # copies outlive the ring


def test_reentrant_batches_never_cut_a_packet(veth_pair):
    """More full-size packets than one copy buffer (4 MiB) holds: each batch
    stops while a whole packet still fits, and the next one goes on."""
    frames = numbered(veth_pair, 3000, size=1514)
    with ring_in_a(veth_pair, flags=Flags.REENTRANT, enable=True) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, 3000, timeout=10)
        first = ring.recv_batch(4096)
        assert 2000 < len(first) < 3000                  # 4 MiB of 1514-byte packets
        got = list(first) + collect(ring, 3000 - len(first))
        assert ring.stats().drop == 0
    assert [d for _, d in got] == frames
    assert all(h.caplen == h.len == 1514 for h, _ in got)


def test_reentrant_threads_each_get_their_own_buffers(veth_pair):
    """Two threads receive from one REENTRANT ring at once: every packet
    comes out once and whole."""
    frames = numbered(veth_pair, 2000, size=300)
    out = [[], []]
    with ring_in_a(veth_pair, flags=Flags.REENTRANT, enable=True) as ring:
        def reader(k):
            while sum(map(len, out)) < 2000:
                got = ring.recv_batch(64, timeout=0.2) if k else [ring.recv(timeout=0.2)]
                out[k].extend(g for g in got if g is not None)
        threads = [threading.Thread(target=reader, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        send_from_b(veth_pair, frames)
        for t in threads:
            t.join(20)
        assert not any(t.is_alive() for t in threads)
    got = sorted(d for part in out for _, d in part)
    assert got == sorted(frames)


# -- loop() over bursts --------------------------------------------------------------


def test_loop_count_is_exact_across_bursts(veth_pair):
    frames = numbered(veth_pair, 700)
    with ring_in_a(veth_pair, enable=True) as ring:
        send_from_b(veth_pair, frames)
        seen = []
        assert ring.loop(lambda h, v: seen.append(bytes(v)), count=650, timeout=2) == 650
        assert seen == frames[:650]
        assert [d for _, d in drain(ring)] == frames[650:]


@pytest.mark.parametrize("stop", ["breakloop", "exception"])
def test_a_loop_stopped_in_a_callback_keeps_the_rest_of_the_burst(veth_pair, stop):
    """breakloop() in, or an exception from, the callback of packet 10 of a
    queued burst: the next receive calls (recv, recv_batch, loop) hand out
    11.. in order; nothing lost or repeated."""
    frames = numbered(veth_pair, 60)
    with one_block_ring(veth_pair) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, 60)
        seen = []

        def cb(h, view):
            seen.append(bytes(view))
            if len(seen) == 10:
                if stop == "exception":
                    raise KeyError("tenth")
                ring.breakloop()

        if stop == "exception":
            with pytest.raises(KeyError, match="tenth"):
                ring.loop(cb, timeout=1)
        else:
            assert ring.loop(cb, timeout=1) == 10
        assert ring.recv()[1] == frames[10]
        assert [d for _, d in ring.recv_batch(5)] == frames[11:16]
        rest = []
        assert ring.loop(lambda h, v: rest.append(bytes(v)), timeout=0.5) == 44
    assert seen + [frames[10]] + frames[11:16] + rest == frames


# -- recv_count: consume and count ------------------------------------------------


def test_recv_count_counts_every_queued_packet_and_its_bytes(veth_pair):
    frames = numbered(veth_pair, 300, size=100) + numbered(veth_pair, 200, start=300, size=60)
    with one_block_ring(veth_pair) as ring:
        assert ring.recv_count() == (0, 0)
        send_from_b(veth_pair, frames)
        queued(ring, len(frames))
        assert ring.recv_count(120) == (120, 120 * 100)
        assert ring.recv_count() == (380, 180 * 100 + 200 * 60)
        assert ring.recv_count() == (0, 0)
        st = ring.stats()
        assert st.recv == 500


def test_recv_count_counts_the_vlan_tags_the_kernel_took_out(veth_pair):
    """The kernel takes a frame's tag out into its metadata; a packet
    handed out has it back, and recv_count counts it as recv_batch does."""
    tagged, plain = numbered(veth_pair, 30, vlan=9), numbered(veth_pair, 20, start=30)
    frames = [f for pair in zip(tagged, plain) for f in pair] + tagged[20:]
    assert len(tagged[0]) == len(plain[0]) + 4
    with one_block_ring(veth_pair) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, len(frames))
        assert ring.recv_count(7) == (7, sum(len(f) for f in frames[:7]))
        assert ring.recv_count() == (43, sum(len(f) for f in frames[7:]))
    with one_block_ring(veth_pair) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, len(frames))
        batch = ring.recv_batch(len(frames))
        assert [bytes(v) for _, v in batch.views()] == frames
        assert batch.bytes == sum(len(f) for f in frames)


def test_recv_count_takes_what_a_loop_left_first(veth_pair):
    frames = numbered(veth_pair, 40)
    with one_block_ring(veth_pair) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, 40)
        seen = []
        assert ring.loop(lambda h, v: seen.append(bytes(v)), count=10, timeout=2) == 10
        assert seen == frames[:10]
        assert ring.recv_count(5) == (5, 5 * 100)
        assert ring.recv_count() == (25, 25 * 100)


def test_recv_count_applies_sampling(veth_pair):
    frames = numbered(veth_pair, 100)
    with one_block_ring(veth_pair) as ring:
        ring.set_sampling_rate(4)
        send_from_b(veth_pair, frames)
        time.sleep(0.5)
        assert ring.recv_count() == (25, 25 * 100)


def test_recv_count_bad_calls_are_clear_errors(veth_pair):
    from pcap_pfring import InvalidArgumentError
    with ring_in_a(veth_pair, flags=Flags.REENTRANT, enable=True) as ring:
        with pytest.raises(InvalidArgumentError, match="REENTRANT"):
            ring.recv_count()
    with one_block_ring(veth_pair) as ring:
        with pytest.raises(InvalidArgumentError, match="max_packets"):
            ring.recv_count(-1)
    with pytest.raises(InvalidStatusError):
        ring.recv_count()


# -- recv_count with a duration: waiting and counting in C ------------------------


def test_recv_count_counts_what_arrives_during_its_duration(veth_pair):
    early = numbered(veth_pair, 30, size=100)
    late = numbered(veth_pair, 50, start=30, size=80)
    with one_block_ring(veth_pair) as ring:
        send_from_b(veth_pair, early)
        queued(ring, 30)
        sender = threading.Timer(0.3, send_from_b, (veth_pair, late))
        sender.start()
        try:
            t0 = time.monotonic()
            got = ring.recv_count(duration=1.5)
            waited = time.monotonic() - t0
        finally:
            sender.join()
        assert got == (80, 30 * 100 + 50 * 80)
        assert waited >= 1.5               # it counts until the duration is over
        assert ring.recv_count() == (0, 0)
        assert ring.stats().recv == 80


def test_recv_count_returns_once_max_packets_were_counted(veth_pair):
    frames = numbered(veth_pair, 60)
    with one_block_ring(veth_pair) as ring:
        sender = threading.Timer(0.2, send_from_b, (veth_pair, frames))
        sender.start()
        try:
            t0 = time.monotonic()
            got = ring.recv_count(40, duration=30)
            waited = time.monotonic() - t0
        finally:
            sender.join()
        assert got == (40, 40 * 100)
        assert waited < 20                 # not the whole duration
        queued(ring, 20)
        assert ring.recv_count(duration=0.2) == (20, 20 * 100)


def test_recv_count_idle_waits_its_duration_and_counts_nothing(veth_pair):
    with one_block_ring(veth_pair) as ring:
        t0 = time.monotonic()
        assert ring.recv_count(duration=0.4) == (0, 0)
        assert time.monotonic() - t0 >= 0.4


def test_recv_count_without_limit_ends_on_breakloop_from_a_thread(veth_pair):
    with one_block_ring(veth_pair) as ring:
        stopper = threading.Timer(0.3, ring.breakloop)
        stopper.start()
        try:
            assert ring.recv_count(duration=None) == (0, 0)
        finally:
            stopper.join()
        # the break was consumed: the next wait lasts its duration
        t0 = time.monotonic()
        assert ring.recv_count(duration=0.3) == (0, 0)
        assert time.monotonic() - t0 >= 0.3


def test_recv_count_lets_a_signal_handler_run_during_the_wait(veth_pair):
    import signal

    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        with one_block_ring(veth_pair) as ring:
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            t0 = time.monotonic()
            with pytest.raises(Stop):
                ring.recv_count(duration=None)
            assert time.monotonic() - t0 < 20       # the handler ran: the wait ended
            # a handler that only returns: the wait goes on to its duration
            signal.signal(signal.SIGALRM, lambda s, f: None)
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            t0 = time.monotonic()
            assert ring.recv_count(duration=0.5) == (0, 0)
            assert time.monotonic() - t0 >= 0.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_recv_count_wait_ends_with_an_error_when_another_thread_closes(veth_pair):
    ring = one_block_ring(veth_pair)
    closer = threading.Timer(0.3, ring.close)
    closer.start()
    try:
        with pytest.raises(InvalidStatusError):
            ring.recv_count(duration=None)
    finally:
        closer.join()


@pytest.mark.parametrize("bad, error, text", [
    (-1, "InvalidArgumentError", "duration -1 is negative"),
    (float("nan"), "InvalidArgumentError", "duration is NaN"),
    ("1", "TypeError", "duration must be a number"),
    (True, "TypeError", "duration must be a number"),
])
def test_recv_count_bad_duration_is_a_clear_error(veth_pair, bad, error, text):
    import pcap_pfring
    exc = getattr(pcap_pfring, error, None) or __builtins__[error]
    with one_block_ring(veth_pair) as ring:
        with pytest.raises(exc, match=text):
            ring.recv_count(duration=bad)
        assert ring.recv_count() == (0, 0)


def test_recv_count_counts_tagged_frames_at_their_length_on_the_wire(veth_pair):
    frames = numbered(veth_pair, 50, size=100, vlan=12) + numbered(veth_pair, 30, start=50, size=80)
    with one_block_ring(veth_pair) as ring:
        send_from_b(veth_pair, frames)
        queued(ring, 80)
        assert ring.recv_count() == (80, sum(len(f) for f in frames))
        assert ring.stats().recv == 80
