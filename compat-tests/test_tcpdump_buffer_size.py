"""tcpdump -B (pcap_set_buffer_size) on libpcap-pfring sizes the ring, in
whole 1 MiB blocks, as the status tree's "Tot Memory" shows; the stock
tcpdump takes the same option on the same interface."""
import shutil
import time

import pytest

from pcap_pfring import status
from pcap_pfring.testing.compat import flow_frames, read_pcap, send, tcpdump

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("tcpdump") is None,
                                 reason="tcpdump is installed by make setup")]

MiB = 1 << 20


def ring_memory(status_dir, timeout=5.0):
    """Tot Memory of the one ring in the tree, once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rings = status.list_rings(str(status_dir))
        if rings and "Tot Memory" in rings[0].fields:
            return int(rings[0].fields["Tot Memory"])
        time.sleep(0.1)
    raise AssertionError(f"no ring file in {status_dir}")


@pytest.mark.parametrize("kib, ring_bytes", [(3000, 3 * MiB), (1024, 1 * MiB),
                                             (40960, 40 * MiB)])
def test_dash_b_sizes_the_ring_in_whole_blocks(veth_pair, tmp_path, status_dir, kib, ring_bytes):
    p = tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / "ring.pcap", "-B", str(kib),
                env={"PF_RING_STATUS_DIR": status_dir})
    try:
        assert ring_memory(status_dir) == ring_bytes
    finally:
        p.stop()
    assert "pcap-pfring" not in p.stderr      # no warning, no fallback


def test_without_dash_b_the_ring_keeps_its_default(veth_pair, tmp_path, status_dir):
    # min_num_slots (4096) slots of a 128-byte caplen fit in 1 MiB: the
    # 8-block minimum.  At the default snaplen, 512 slots (MIN_NUM_SLOTS) of
    # 65,600 bytes plus headers: 33 blocks.
    for args, blocks in ((["-s", "128"], 8), ([], 33)):
        p = tcpdump(veth_pair.a, "ring", veth_pair.if_a, tmp_path / "ring.pcap", *args,
                    env={"PF_RING_STATUS_DIR": status_dir})
        try:
            assert ring_memory(status_dir) == blocks * MiB
        finally:
            p.stop()


def test_stock_and_ring_tcpdump_both_capture_with_dash_b(veth_pair, tmp_path):
    rx, _ = flow_frames(veth_pair, 10)
    progs = [tcpdump(veth_pair.a, route, veth_pair.if_a, tmp_path / f"{route}.pcap",
                     "-B", "3000", "-c", str(len(rx)), "ip")
             for route in ("ring", "stock")]
    try:
        send(veth_pair.b, veth_pair.if_b, rx)
        codes = [p.wait(timeout=10) for p in progs]
    finally:
        for p in progs:
            p.stop()
    assert codes == [0, 0]
    for route in ("ring", "stock"):
        assert [r[3] for r in read_pcap(tmp_path / f"{route}.pcap")[1]] == rx
