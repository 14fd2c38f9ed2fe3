"""Ring.kernel_stats() (pfring_stats_kernel) and pcapy's stats(): the
kernel's view of a ring, with exact counts over real frames.

kernel_stats().recv counts every packet queued for the ring, read or still
waiting, the drops included; stats().recv only what the application read.
Both come from the same accumulated kernel counters (which reset on every
read in the kernel), so they can be asked in any order.
"""
import time

import pytest

from pcap_pfring import Flags, InvalidStatusError, ffi, lib, pcapy
from pcap_pfring.ring import KernelStats
from pcap_pfring.testing.fixtures import collect, drain, frame, send_from_b
from pcap_pfring.testing.ring_modes import open_in_a, ring_mode  # noqa: F401

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5


def numbered(pair, n, size=60, start=0):
    return [frame(pair.mac_a, pair.mac_b, ETH_TEST,
                  i.to_bytes(4, "big") + bytes(max(0, size - 18)))
            for i in range(start, start + n)]


# Every test runs on a batched ring (TPACKET_V3) and on one in immediate
# mode (TPACKET_V2), which must behave the same (pcap_pfring.testing.ring_modes).


def test_queued_packets_count_before_they_are_read(veth_pair):
    with open_in_a(veth_pair, enable=True) as ring:
        assert ring.kernel_stats() == KernelStats(0, 0, 0)
        send_from_b(veth_pair, numbered(veth_pair, 50))
        time.sleep(0.2)
        assert ring.kernel_stats() == KernelStats(50, 0, 0)
        assert ring.stats().recv == 0
        assert ring.kernel_stats().recv == 50          # asked twice: no reset seen
        got = collect(ring, 20)
        assert len(got) == 20
        assert ring.stats().recv == 20
        assert ring.kernel_stats() == KernelStats(50, 0, 0)
        assert ring.stats().recv == 20
        rest = drain(ring)
        assert len(rest) == 30
        assert (ring.stats().recv, ring.stats().drop) == (50, 0)
        assert ring.kernel_stats() == KernelStats(50, 0, 0)
        send_from_b(veth_pair, numbered(veth_pair, 7, start=100))
        time.sleep(0.2)
        assert ring.kernel_stats() == KernelStats(57, 0, 0)


@pytest.mark.parametrize("flags", [0, Flags.USERSPACE_BPF], ids=["kernel", "userspace"])
def test_filter_rejects_are_not_counted(veth_pair, flags):
    """Only what passed the filter counts, whether the kernel ran it or
    libpfring did in user space (its rejects are taken off, once read)."""
    with open_in_a(veth_pair, flags=flags, enable=True) as ring:
        ring.set_bpf_filter("ether[14:4] < 10")      # only the frames numbered 0..9
        sent = numbered(veth_pair, 30)
        send_from_b(veth_pair, sent)
        time.sleep(0.2)
        assert [d for _, d in drain(ring)] == sent[:10]
        assert ring.kernel_stats() == KernelStats(10, 0, 0)
        assert ring.stats().recv == 10


def test_drops_when_the_ring_is_full(veth_pair):
    """More frames than the ring holds, none read while they arrive: recv
    counts every frame, drop those that found no room, exactly the ones
    never delivered.  (An immediate-mode ring holds one packet per frame,
    about 4,100 of these in the default ring: more are sent.)"""
    n = 6000
    with open_in_a(veth_pair, caplen=1536, enable=True) as ring:
        sent = numbered(veth_pair, n, size=1400)
        for i in range(0, n, 100):                   # paced: no veth backlog drops
            send_from_b(veth_pair, sent[i:i + 100])
            time.sleep(0.005)
        time.sleep(0.3)
        before = ring.kernel_stats()
        delivered = len(drain(ring))
        after = ring.kernel_stats()
        st = ring.stats()
    assert before == after
    assert after.recv == n
    assert after.drop > 0
    assert after.drop == n - delivered
    assert (st.recv, st.drop) == (delivered, after.drop)


def test_bad_input(veth_pair):
    st = ffi.new("pfring_kernel_stat *")
    assert lib.pfring_stats_kernel(ffi.NULL, st) == lib.PF_RING_ERROR_INVALID_ARGUMENT
    with open_in_a(veth_pair) as ring:
        h = ring._h()
        assert lib.pfring_stats_kernel(h, ffi.NULL) == lib.PF_RING_ERROR_INVALID_ARGUMENT
        assert ffi.string(lib.pfring_last_error(h)).decode() == "stats is NULL"
    with pytest.raises(InvalidStatusError, match="after close"):
        ring.kernel_stats()


def test_pcapy_stats_count_what_waits_in_the_capture(veth_pair):
    with veth_pair.a.enter():
        r = pcapy.open_live(veth_pair.if_a, 65535, True, 100)
    with r:
        assert r.stats() == (0, 0, 0)
        sent = numbered(veth_pair, 25)
        send_from_b(veth_pair, sent)
        time.sleep(0.2)
        assert r.stats() == (25, 0, 0)
        got = [r.next()[1] for _ in range(10)]
        assert got == sent[:10]
        assert r.stats() == (25, 0, 0)
