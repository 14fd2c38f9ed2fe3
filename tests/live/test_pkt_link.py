"""pfring_get_pkt_link and pfring_release_consumed on real frames: the
kernel's link-layer metadata of a handed-out packet (what a Linux cooked
header is made of), and giving a used-up block back so that the fd is not
readable with nothing to read."""
import select

import pytest

from pcap_pfring import Ring, ffi, lib
from pcap_pfring.testing.fixtures import frame, send_from_b

pytestmark = pytest.mark.needs_root

ETH_TEST = 0x88B5


def recv_one(h):
    buf = ffi.new("u_char **")
    hdr = ffi.new("struct pfring_pkthdr *")
    for _ in range(50):
        rc = lib.pfring_recv(h, buf, 0, hdr, 1)
        if rc == 1:
            return buf[0], hdr
    raise AssertionError("no packet")


def test_metadata_of_a_received_frame(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, enable=True)
    with ring:
        lib.pfring_set_poll_duration(ring._h(), 100)
        send_from_b(veth_pair, [frame(veth_pair.mac_a, veth_pair.mac_b, ETH_TEST, b"x" * 50),
                                frame(b"\xff" * 6, veth_pair.mac_b, ETH_TEST, b"y" * 50)])
        link = ffi.new("struct pfring_pkt_link *")
        for pkttype in (0, 1):                    # PACKET_HOST, PACKET_BROADCAST
            data, hdr = recv_one(ring._h())
            assert lib.pfring_get_pkt_link(ring._h(), data, link) == 0
            assert link.if_index == hdr.extended_hdr.if_index > 0
            assert (link.protocol, link.hatype, link.pkttype, link.halen) == \
                (ETH_TEST, 1, pkttype, 6)
            assert bytes(link.addr)[:6] == veth_pair.mac_b
            assert (link.net_offset, link.vlan_tpid, link.vlan_tci) == (14, 0, 0)
            assert link.net_offset + link.headroom >= 20
            # bad input: another pointer, NULLs
            assert lib.pfring_get_pkt_link(ring._h(), data + 1, link) == \
                lib.PF_RING_ERROR_INVALID_ARGUMENT
            assert "not a packet" in ffi.string(lib.pfring_last_error(ring._h())).decode()
            assert lib.pfring_get_pkt_link(ring._h(), ffi.NULL, link) == \
                lib.PF_RING_ERROR_INVALID_ARGUMENT
            assert lib.pfring_get_pkt_link(ring._h(), data, ffi.NULL) == \
                lib.PF_RING_ERROR_INVALID_ARGUMENT
        assert lib.pfring_get_pkt_link(ffi.NULL, data, link) == lib.PF_RING_ERROR_INVALID_ARGUMENT


def test_release_consumed_makes_the_fd_quiet(veth_pair):
    with veth_pair.a.enter():
        ring = Ring(veth_pair.if_a, enable=True)
    with ring:
        h = ring._h()
        lib.pfring_set_poll_duration(h, 100)
        assert lib.pfring_release_consumed(h) == 0          # nothing held
        send_from_b(veth_pair, [frame(veth_pair.mac_a, veth_pair.mac_b, ETH_TEST, b"z" * 50)])
        recv_one(h)
        fd = lib.pfring_get_selectable_fd(h)
        assert select.select([fd], [], [], 0)[0] == [fd]   # the block is still held
        assert lib.pfring_release_consumed(h) == 1
        assert select.select([fd], [], [], 0.1)[0] == []
        assert lib.pfring_release_consumed(h) == 0
    assert lib.pfring_release_consumed(ffi.NULL) == lib.PF_RING_ERROR_INVALID_ARGUMENT
