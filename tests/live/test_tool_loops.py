"""The loops of pfsend, pfcount and pfdump in this process, on real rings
over a veth pair: how pfsend hands frames to ``Ring.send_many`` (large
chunks at full speed, paced chunks otherwise), that pfcount counts without
looking at packets, and that pfdump writes every packet."""
import time

import pytest

from pcap_pfring import Frames, Ring, SocketMode
from pcap_pfring.cli import _common, pfcount, pfdump, pfsend
from pcap_pfring.pcapfile import read_packets
from pcap_pfring.testing.fixtures import collect, drain, frame

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B7


class RecordingRing(Ring):
    """A real ring that also notes each send_many call: (time, start, count, sent)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.calls = []

    def send_many(self, frames, start=0, count=None):
        t = time.monotonic()
        sent, nbytes = super().send_many(frames, start, count)
        self.calls.append((t, start, count, sent))
        return sent, nbytes


def frames_for(pair, n, size=60):
    return [frame(pair.mac_a, pair.mac_b, ETH_TEST, i.to_bytes(2, "big") + bytes(size - 16))
            for i in range(n)]


def rings(pair, caplen=1536, batching=None):
    """(sender in b, receiver in a for ETH_TEST frames, enabled).  Slow
    sends: ``batching`` ms per kernel block, or each packet retires a block
    of its own and the ring holds only a few dozen."""
    with pair.b.enter():
        tx = RecordingRing(pair.if_b)
    tx.set_socket_mode(SocketMode.SEND_ONLY)
    tx.enable()
    with pair.a.enter():
        rx = Ring(pair.if_a, caplen=caplen)
    rx.set_bpf_filter(f"ether proto {ETH_TEST:#x}")
    if batching:
        rx.set_batching(batching)
    rx.enable()
    return tx, rx


def send(tx, frames, count, pps=0.0, offsets=None, duration=None):
    counters = pfsend.Counters()
    with _common.Run(duration=duration) as run:
        pfsend.send(tx, frames, run, counters, count, pps, offsets)
    return counters, run


def test_pfsend_full_speed_sends_large_chunks(veth_pair):
    sent = frames_for(veth_pair, 3)
    tx, rx = rings(veth_pair)
    with tx, rx:
        c, _ = send(tx, Frames(sent), 5000)
        assert [(s, n) for _, s, n, _ in tx.calls] == [(0, 4096), (1, 904)]
        assert (c.pkts, c.bytes) == (5000, 5000 * 60)
        got = collect(rx, 5000)
        assert [d for _, d in got] == [sent[i % 3] for i in range(5000)]


def test_pfsend_paced_by_rate(veth_pair):
    sent = frames_for(veth_pair, 1)
    tx, rx = rings(veth_pair, batching=1000)
    with tx, rx:
        t0 = time.monotonic()                          # at most pfsend's own start
        c, run = send(tx, Frames(sent), 200, pps=1000)
        assert c.pkts == 200 == sum(n for _, _, _, n in tx.calls)
        assert 0.19 <= run.elapsed < 20                # frame 199 is due at 0.199 s
        done = 0
        for t, _, n, k in tx.calls:                    # never ahead of the rate
            assert done + n <= (t - t0) * 1000 + 1 + 1000 * pfsend.AHEAD
            done += k
        assert len(collect(rx, 200)) == 200


def test_pfsend_at_the_capture_times(veth_pair):
    """Frames due together go in one chunk; a pass starts when the one before
    ended.  The receiver's kernel time stamps show the 100 ms gaps."""
    sent = frames_for(veth_pair, 4)
    offsets = [0, 0, 100_000_000, 100_000_000]
    tx, rx = rings(veth_pair)
    with tx, rx:
        c, run = send(tx, Frames(sent), 8, offsets=offsets)
        assert c.pkts == 8
        assert [(s, n) for _, s, n, _ in tx.calls] == [(0, 2), (2, 2), (0, 2), (2, 2)]
        assert 0.19 <= run.elapsed < 20
        got = collect(rx, 8)
        assert [d for _, d in got] == sent + sent
        ts = [h.ts_ns for h, _ in got]
        assert ts[2] - ts[1] >= 99_000_000 and ts[6] - ts[5] >= 99_000_000
        assert ts[4] - ts[3] < 50_000_000              # the second pass at once


def test_pfsend_stops_at_the_deadline(veth_pair):
    tx, rx = rings(veth_pair, batching=1000)
    with tx, rx:
        c, run = send(tx, Frames(frames_for(veth_pair, 1)), 0, pps=100, duration=0.3)
        # never ahead of the rate (about 30 are due by the deadline); late wake-ups
        # on a busy machine can only mean fewer
        assert 1 <= c.pkts <= 35 and 0.3 <= run.elapsed < 20
        assert len(collect(rx, c.pkts)) == c.pkts
        assert rx.stats().drop == 0


def test_pfcount_counts_batches_and_stops_at_its_limit(veth_pair):
    sent = frames_for(veth_pair, 3, size=100)
    tx, rx = rings(veth_pair)
    with tx, rx:
        tx.send_many(Frames(sent), 0, 3000)
        counters = pfcount.Counters()
        with _common.Run(rx.breakloop, duration=10) as run:
            pfcount.count(rx, run, counters, limit=2500)
        assert (counters.pkts, counters.bytes) == (2500, 2500 * 100)
        assert len(drain(rx)) == 500                   # the rest stays in the ring


def test_pfdump_writes_every_packet(veth_pair, tmp_path):
    sent = frames_for(veth_pair, 5, size=80)
    tx, rx = rings(veth_pair, caplen=64)
    with tx, rx:
        before = time.time_ns()
        tx.send_many(Frames(sent), 0, 50)
        counters = pfdump.Counters()
        with pfdump.PcapWriter(str(tmp_path / "d.pcap"), 64) as w:
            with _common.Run(rx.breakloop, duration=10) as run:
                pfdump.dump(rx, run, w, counters, limit=50)
    link, records = read_packets(tmp_path / "d.pcap")
    assert link == 1 and (counters.pkts, counters.bytes) == (50, 50 * 80)
    assert [(r[1], r[2], r[3]) for r in records] == [(64, 80, sent[i % 5][:64]) for i in range(50)]
    assert all(before - 10**9 < r[0] <= time.time_ns() for r in records)
    assert (tmp_path / "d.pcap").read_bytes()[16:20] == (64).to_bytes(4, "little")   # snaplen
