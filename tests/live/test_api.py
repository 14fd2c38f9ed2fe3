"""The rest of the ring API on real sockets: sending variants, open flags,
device information, multichannel."""
import socket
import threading

import pytest

from pcap_pfring import Flags, InvalidStatusError, Ring, open_multichannel, version
from pcap_pfring.testing.fixtures import collect, drain, frame

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5


def frames_b_to_a(pair, n, start=0):
    return [frame(pair.mac_a, pair.mac_b, ETH_TEST, i.to_bytes(4, "big") * 8)
            for i in range(start, start + n)]


def send_from_b(pair, frames):
    s = pair.b.raw_socket(pair.if_b)
    for f in frames:
        s.send(f)
    s.close()


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
    pair.a.run(["ip", "link", "add", "veth2", "type", "veth", "peer", "name", "veth3",
                "netns", pair.b.name])
    pair.a.run(["ip", "link", "set", "veth2", "up"])
    pair.b.run(["ip", "link", "set", "veth3", "up"])
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
