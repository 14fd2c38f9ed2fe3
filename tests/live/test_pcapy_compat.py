"""pcap_pfring.pcapy, the pcapy-compatible module: real frames from namespace
b captured by a Reader in namespace a."""
import os
import select
import time

import pytest

from pcap_pfring import pcapy, status
from pcap_pfring.testing.fixtures import frame, send_from_b

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5


def numbered(pair, n, start=0, ethertype=ETH_TEST):
    return [frame(pair.mac_a, pair.mac_b, ethertype, i.to_bytes(4, "big") + b"pcapy" * 8)
            for i in range(start, start + n)]


def open_in_a(pair, snaplen=65535, promisc=False, to_ms=100, device=None):
    with pair.a.enter():
        return pcapy.open_live(device or pair.if_a, snaplen, promisc, to_ms)


def test_next_exact_frames_headers_and_timestamps(veth_pair):
    with open_in_a(veth_pair) as r:
        r.setfilter(f"ether proto {ETH_TEST:#x}")
        frames = numbered(veth_pair, 5)
        before = time.time()
        send_from_b(veth_pair, frames)
        got = [r.next() for _ in range(5)]
        after = time.time()
        assert [data for _, data in got] == frames
        assert [(h.getcaplen(), h.getlen()) for h, _ in got] == [(len(f), len(f)) for f in frames]
        stamps = [h.getts() for h, _ in got]
        assert stamps == sorted(stamps)
        assert all(0 <= usec < 1_000_000 for _, usec in stamps)
        assert before - 1 <= stamps[0][0] + stamps[0][1] / 1e6 <= after + 1
        assert [h.getts_ns() // 1000 for h, _ in got] == \
            [sec * 1_000_000 + usec for sec, usec in stamps]
        t0 = time.monotonic()
        assert r.next() == (None, b"")              # the 100 ms timeout
        assert 0.08 <= time.monotonic() - t0 < 1.0


def test_loop_and_dispatch(veth_pair):
    with open_in_a(veth_pair) as r:
        r.setfilter(f"ether proto {ETH_TEST:#x}")
        frames = numbered(veth_pair, 10)
        send_from_b(veth_pair, frames)
        seen = []
        assert r.loop(4, lambda h, d: seen.append(d)) is None
        assert seen == frames[:4]
        assert r.dispatch(3, lambda h, d: seen.append(d)) == 3
        assert seen == frames[:7]
        time.sleep(0.1)
        assert r.dispatch(-1, lambda h, d: seen.append(d)) == 3
        assert seen == frames
        assert r.dispatch(0, lambda h, d: seen.append(d)) == 0     # timeout, nothing


def test_callback_exception_ends_loop(veth_pair):
    with open_in_a(veth_pair) as r:
        send_from_b(veth_pair, numbered(veth_pair, 3))

        def boom(h, d):
            raise KeyError("stop here")
        with pytest.raises(KeyError, match="stop here"):
            r.loop(-1, boom)
        assert [d for d in (r.next()[1], r.next()[1])] == numbered(veth_pair, 3)[1:]


def test_snaplen_cuts_captured_length(veth_pair):
    with open_in_a(veth_pair, snaplen=20) as r:
        f = numbered(veth_pair, 1)[0]
        send_from_b(veth_pair, [f])
        h, data = r.next()
        assert (h.getcaplen(), h.getlen(), data) == (20, len(f), f[:20])


def test_filter_error_is_pcap_error_with_the_compilers_text(veth_pair):
    with open_in_a(veth_pair) as r:
        with pytest.raises(pcapy.PcapError, match="syntax error"):
            r.setfilter("udp port and")


def test_open_errors_name_the_device(veth_pair):
    with pytest.raises(pcapy.PcapError, match="nope0"):
        open_in_a(veth_pair, device="nope0")


def test_stats_datalink_net_mask_fd(veth_pair):
    with open_in_a(veth_pair) as r:
        assert r.datalink() == pcapy.DLT_EN10MB
        assert (r.getnet(), r.getmask()) == ("10.77.0.0", "255.255.255.0")
        send_from_b(veth_pair, numbered(veth_pair, 4))
        readable, _, _ = select.select([r.getfd()], [], [], 2)
        assert readable == [r.fileno()]
        for _ in range(4):
            r.next()
        assert r.stats() == (4, 0, 0)


def test_nonblock(veth_pair):
    with open_in_a(veth_pair, to_ms=0) as r:
        assert r.getnonblock() == 0
        r.setnonblock(1)
        assert r.getnonblock() == 1
        t0 = time.monotonic()
        assert r.next() == (None, b"")
        assert r.dispatch(-1, lambda h, d: None) == 0
        assert time.monotonic() - t0 < 0.1
        r.setnonblock(0)
        send_from_b(veth_pair, numbered(veth_pair, 1))
        assert r.next()[1] == numbered(veth_pair, 1)[0]       # to_ms 0: waits for it


def test_setdirection(veth_pair):
    with open_in_a(veth_pair) as r:
        r.setfilter(f"ether proto {ETH_TEST:#x}")
        r.setdirection(pcapy.PCAP_D_OUT)
        send_from_b(veth_pair, numbered(veth_pair, 2))
        out = frame(veth_pair.mac_b, veth_pair.mac_a, ETH_TEST, b"outgoing")
        sa = veth_pair.a.raw_socket(veth_pair.if_a)
        sa.send(out)
        sa.close()
        assert r.next()[1] == out
        assert r.next() == (None, b"")


def test_sendpacket_reaches_the_peer(veth_pair):
    import socket
    with veth_pair.b.enter():
        rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_TEST))
        rx.bind((veth_pair.if_b, ETH_TEST))
    rx.settimeout(2)
    try:
        with open_in_a(veth_pair) as r:
            out = frame(veth_pair.mac_b, veth_pair.mac_a, ETH_TEST, b"to b")
            r.sendpacket(out)
            assert rx.recv(2048) == out
    finally:
        rx.close()


def test_use_after_close(veth_pair):
    r = open_in_a(veth_pair)
    r.close()
    r.close()
    for call in (r.next, r.stats, r.getfd, r.datalink, lambda: r.setfilter("udp"),
                 lambda: r.loop(1, print)):
        with pytest.raises(ValueError, match="closed"):
            call()


def test_environment_applies_as_for_libpcap(veth_pair, monkeypatch):
    monkeypatch.setenv("PCAP_PF_RING_APPNAME", "pcapy-app")
    monkeypatch.setenv("PCAP_PF_RING_CLUSTER_ID", "33")
    with open_in_a(veth_pair, promisc=True) as r:
        f = [x.fields for x in status.list_rings() if x.pid == os.getpid()]
        assert [(x["Appl. Name"], x["Cluster Id"]) for x in f] == [("pcapy-app", "33")]
        frames = numbered(veth_pair, 3)
        send_from_b(veth_pair, frames)
        assert [r.next()[1] for _ in range(3)] == frames


def test_findalldevs_and_lookupdev(veth_pair):
    with veth_pair.a.enter():
        assert pcapy.findalldevs() == ["lo", veth_pair.if_a, "any"]
        assert pcapy.lookupdev() == veth_pair.if_a
