"""The rest of the ring API on real sockets: sending variants, open flags,
device information, multichannel."""
import socket
import threading
import time

import pytest

from pcap_pfring import Flags, InvalidStatusError, Ring, ffi, lib, open_multichannel, version
from pcap_pfring.testing.fixtures import collect, drain, frame, send_from_b

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5


def frames_b_to_a(pair, n, start=0):
    return [frame(pair.mac_a, pair.mac_b, ETH_TEST, i.to_bytes(4, "big") * 8)
            for i in range(start, start + n)]


def test_device_information(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
        ifindex = socket.if_nametoindex(veth_pair.if_a)
    with ring:
        assert ring.bound_device_address == veth_pair.mac_a.hex(":")
        assert ring.bound_device_ifindex == ifindex
        assert ring.mtu == 1500
        assert ring.num_rx_channels == 1
        assert ring.version == version() == "5.6.2"
        assert ring.ring_id > 0


def test_send_ifindex_and_send_last_rx_packet(veth_pair):
    pair = veth_pair
    # b gets a second link to a: veth3 (b) <-> veth2 (a)
    pair.add_link("veth2", "veth3")
    with pair.a.enter():
        capture2 = Ring("veth2", enable=True)
        unbound = Ring("none")
        bouncer = Ring(pair.if_a, enable=True)
        idx2 = socket.if_nametoindex("veth2")
    with pair.b.enter():
        at_b3 = Ring("veth3", enable=True)
    with capture2, unbound, bouncer, at_b3:
        f = frame(b"\x02" * 6, pair.mac_a, ETH_TEST, b"via-ifindex" * 3)
        assert unbound.send(f, if_index=idx2) == len(f)
        assert [d for h, d in collect(capture2, 1) if not h.rx] == [f]
        assert [d for _, d in collect(at_b3, 1)] == [f]     # it crossed to b
        # A frame received on veth0 is bounced out of veth2 unchanged.
        orig = frames_b_to_a(pair, 1)[0]
        send_from_b(pair, [orig])
        assert [d for _, d in collect(bouncer, 1)] == [orig]
        assert bouncer.send_last_rx_packet(idx2) == len(orig)
        assert [d for _, d in collect(at_b3, 1)] == [orig]


def test_unbound_ring_cannot_send_without_ifindex(veth_pair):
    from pcap_pfring import InvalidArgumentError
    with veth_pair.a.enter():
        ring = Ring("none")
    with ring, pytest.raises(InvalidArgumentError, match="no device to send on"):
        ring.send(frame(b"\x02" * 6, veth_pair.mac_a, ETH_TEST))


def test_do_not_timestamp(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, flags=Flags.DO_NOT_TIMESTAMP, enable=True)
    with ring:
        send_from_b(veth_pair, frames_b_to_a(veth_pair, 3))
        got = collect(ring, 3)
    assert [h.ts_ns for h, _ in got] == [0, 0, 0]


def test_next_pkt_time(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, enable=True)
    with ring:
        assert ring.next_pkt_time() is None
        send_from_b(veth_pair, frames_b_to_a(veth_pair, 2))
        assert ring.poll(2000)
        ts = ring.next_pkt_time()
        hdr, _ = ring.recv()
        assert ts == hdr.ts_ns


def test_reentrant_ring_shared_by_threads(veth_pair):
    sent = frames_b_to_a(veth_pair, 2000)
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, flags=Flags.REENTRANT, enable=True)
    got = [[], [], []]

    def reader(bucket):
        for _ in range(20000):
            pkt = ring.recv()
            if pkt is not None:
                bucket.append(pkt[1])
            elif sum(map(len, got)) >= len(sent):
                return

    with ring:
        threads = [threading.Thread(target=reader, args=(b,)) for b in got]
        for t in threads:
            t.start()
        send_from_b(veth_pair, sent)
        for t in threads:
            t.join(30)
        rest = [d for _, d in drain(ring)]
    together = [d for b in got for d in b] + rest
    assert sorted(together) == sorted(sent)          # each exactly once
    assert ring.closed


def test_zero_copy_refused_on_reentrant_ring_in_c(veth_pair):
    from pcap_pfring import InvalidArgumentError, ffi, lib
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, flags=Flags.REENTRANT, enable=True)
    with ring:
        pkt = ffi.new("u_char **")
        hdr = ffi.new("struct pfring_pkthdr *")
        rc = lib.pfring_recv(ring._ring, pkt, 0, hdr, 0)
        assert rc == InvalidArgumentError.code
        assert "REENTRANT" in ffi.string(lib.pfring_last_error(ring._ring)).decode()


def test_open_multichannel(veth_pair_mq):
    with veth_pair_mq.a.enter():
        rings = open_multichannel(veth_pair_mq.if_a)
    try:
        assert [r.device for r in rings] == [f"veth0@{q}" for q in range(4)]
        assert len({r.ring_id for r in rings}) == 4
    finally:
        for r in rings:
            r.close()
    with pytest.raises(InvalidStatusError):
        rings[0].stats()


def _recv_c(ring, parsed=False):
    from pcap_pfring import ffi, lib
    pkt = ffi.new("u_char **")
    hdr = ffi.new("struct pfring_pkthdr *")
    for _ in range(50):
        rc = (lib.pfring_recv_parsed(ring._ring, pkt, 0, hdr, 0, 5, 0, 1) if parsed
              else lib.pfring_recv(ring._ring, pkt, 0, hdr, 0))
        if rc:
            return rc, hdr
        ring.poll(100)
    return 0, hdr


def _udp_frame(pair):
    import struct
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, bytes([10, 1, 1, 1]),
                     bytes([10, 1, 1, 2]))
    return frame(pair.mac_a, pair.mac_b, 0x0800, ip + struct.pack("!HHHH", 3333, 4444, 8, 0))


@pytest.mark.parametrize("flags, parsed_expected", [
    (Flags.LONG_HEADER, True), (Flags.NONE, False), (Flags.LONG_HEADER | Flags.DO_NOT_PARSE, False),
])
def test_long_header_fills_the_parsed_header(veth_pair, flags, parsed_expected):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, flags=flags, enable=True)
    with ring:
        send_from_b(veth_pair, [_udp_frame(veth_pair)])
        rc, hdr = _recv_c(ring)
        assert rc == 1
        pi = hdr.extended_hdr.parsed_pkt
        if parsed_expected:
            assert (pi.ip_version, pi.l3_proto, pi.l4_src_port, pi.l4_dst_port) == (4, 17, 3333, 4444)
            assert hdr.extended_hdr.pkt_hash == (0x0A010101 + 0x0A010102 + 17 + 3333 + 4444)
        else:
            assert hdr.extended_hdr.pkt_hash == 0


def test_recv_parsed(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, enable=True)
    with ring:
        send_from_b(veth_pair, [_udp_frame(veth_pair)])
        rc, hdr = _recv_c(ring, parsed=True)
        assert rc == 1
        assert hdr.extended_hdr.parsed_pkt.l4_dst_port == 4444
        assert hdr.extended_hdr.pkt_hash != 0


def _promiscuity(pair):
    out = pair.a.run(["ip", "-d", "link", "show", pair.if_a]).stdout
    return int(out.split("promiscuity ")[1].split()[0])


def test_promisc_is_counted_and_restored(veth_pair):
    assert _promiscuity(veth_pair) == 0
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, promisc=True)
    assert _promiscuity(veth_pair) == 1
    ring.set_promisc(False)
    assert _promiscuity(veth_pair) == 0
    ring.set_promisc(True)
    ring.close()
    assert _promiscuity(veth_pair) == 0


def test_loopback_without_duplicates(veth_pair):
    with veth_pair.a.enter():
        ring = Ring("lo", enable=True)
        ring.set_bpf_filter("udp and dst port 7777")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(10):
                s.sendto(bytes([i]) * 10, ("127.0.0.1", 7777))
    with ring:
        got = drain(ring)
    assert [d[-10:] for _, d in got] == [bytes([i]) * 10 for i in range(10)]


def test_tx_capture_module_parameter(veth_pair):
    """PF_RING_ENABLE_TX_CAPTURE=0 makes new rings RX only (a fresh process)."""
    code = ("import time, pcap_pfring as p\n"
            f"r = p.Ring({veth_pair.if_a!r}, enable=True)\n"
            "print('ready', flush=True)\n"
            "time.sleep(1)\n"
            "got = r.recv_batch(100, timeout=1)\n"
            "print(sorted('RX' if h.rx else 'TX' for h, _ in got))\n")
    import os
    import subprocess
    import sys
    env = dict(os.environ, PF_RING_ENABLE_TX_CAPTURE="0")
    p = veth_pair.a.popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline().strip() == "ready"
    send_from_b(veth_pair, frames_b_to_a(veth_pair, 2))
    sa = veth_pair.a.raw_socket(veth_pair.if_a)
    sa.send(frame(veth_pair.mac_b, veth_pair.mac_a, ETH_TEST, b"out" * 10))
    sa.close()
    out, _ = p.communicate(timeout=30)
    assert out.strip() == "['RX', 'RX']"


def test_batching_and_dispatch(veth_pair):
    """Bigger kernel batches before enable; pfring_dispatch hands over what
    is queued, in order, without waiting; batching after enable is refused."""
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a)
    with ring:
        ring.set_batching(5, 256 * 1024)
        ring.enable()
        with pytest.raises(InvalidStatusError, match="before pfring_enable_ring"):
            ring.set_batching(5)
        got = []

        @ffi.callback("pfringProcesssPacket")
        def cb(h, p, user):
            got.append(bytes(ffi.buffer(p, h.caplen)))

        assert lib.pfring_dispatch(ring._h(), 0, cb, ffi.NULL) == 0    # nothing queued
        sent = frames_b_to_a(veth_pair, 20)
        send_from_b(veth_pair, sent)
        assert ring.poll(1000)
        time.sleep(0.05)                         # past the 5 ms block timeout
        assert lib.pfring_dispatch(ring._h(), 7, cb, ffi.NULL) == 7
        assert lib.pfring_dispatch(ring._h(), 0, cb, ffi.NULL) == 13
        assert got == sent
