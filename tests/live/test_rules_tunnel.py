"""Tunnel ids in the filtering rules (FILTER_TUNNEL_ID_FLAG).

The kernel's rules program reads the tunnel id of a packet (GTP TEID,
VXLAN VNI, GRE key) as libpfring's parser (pfring_parse_pkt) gives it to the
packet header.  The frames are the cluster fixture's (every tunnel kind, and
the frames that only look like one), sent from namespace b to a ring in a;
each rule's match count must be the number of frames whose parsed tunnel id
is the rule's, and a forwarding rule lets exactly those frames through.
"""
import collections
import pathlib
import struct

import pytest

from pcap_pfring import InvalidArgumentError
from pcap_pfring._ffi import ffi, lib
from pcap_pfring.pcapfile import read_packets
from pcap_pfring.rules import Rule, RuleAction
from pcap_pfring.testing.fixtures import drain, send_from_b
from pcap_pfring.testing.serials import open_ring

pytestmark = pytest.mark.needs_root

FRAMES = pathlib.Path(__file__).resolve().parents[1] / "unit" / "data" / "cluster" / "frames.pcap"
NO_TUNNEL_ID = lib.NO_TUNNEL_ID


def fixture_frames():
    return [data for *_, data in read_packets(FRAMES)[1]]


def parsed_tunnel_id(data):
    """The tunnel id pfring_parse_pkt gives the frame (level 5)."""
    buf = ffi.new("u_char[]", data)
    hdr = ffi.new("struct pfring_pkthdr *")
    hdr.caplen = hdr.len = len(data)
    lib.pfring_parse_pkt(buf, hdr, 5, 0, 0)
    return hdr.extended_hdr.parsed_pkt.tunnel.tunnel_id


def extra_frames():
    """What the fixture lacks: GTPv2-C with and without its TEID, a GTPv1
    extension header of length 0, GRE with routing, GRE in a later
    fragment, VXLAN on the source port only."""
    def ip_udp(sport, dport, payload, frag=0x4000, proto=17):
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload \
            if proto == 17 else payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, frag, 64, proto, 0,
                         bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
        return bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip + l4
    gtpv2_t = struct.pack("!BBHI", 0x48, 32, 12, 0x5151) + bytes(8)
    gtpv2_no_t = struct.pack("!BBHI", 0x40, 1, 4, 0x100) + bytes(4)
    bad_ext = struct.pack("!BBHI", 0x34, 0xFF, 8, 0x6161) + b"\x00\x00\x00\x85" + bytes(4)
    gre_routing = struct.pack("!HHI", 0x6000, 0x0800, 0x7171)
    gre_key = struct.pack("!HHI", 0x2000, 0x0800, 0x7272) + bytes(20)
    return [
        ip_udp(2123, 2123, gtpv2_t),
        ip_udp(2123, 2123, gtpv2_no_t),
        ip_udp(2152, 2152, bad_ext),
        ip_udp(0, 0, gre_routing, proto=47),
        ip_udp(0, 0, gre_key, proto=47),
        ip_udp(0, 0, gre_key, proto=47, frag=0x0010),
        ip_udp(4789, 5000, struct.pack("!II", 0x08000000, 0x123400)),
    ]


def test_tunnel_ids_match_what_the_parser_gives(veth_pair):
    frames = fixture_frames() + extra_frames()
    want = collections.Counter(parsed_tunnel_id(f) for f in frames)
    assert len(want) >= 12 and want[0x5151] == 1 and want[0x7272] == 1
    with open_ring(veth_pair) as ring:
        ids = sorted(want)
        for i, tid in enumerate(ids):
            ring.add_rule(Rule(rule_id=i, tunnel_id=tid,
                               rule_action=RuleAction.EXECUTE_AND_CONTINUE))
        ring.enable()
        send_from_b(veth_pair, frames)
        got = [d for _, d in drain(ring, quiet=0.4)]
        assert sorted(got) == sorted(frames)
        assert {tid: ring.rule_stats(i).match for i, tid in enumerate(ids)} == dict(want)


def test_a_tunnel_rule_forwards_exactly_its_tunnel(veth_pair):
    frames = fixture_frames() + extra_frames()
    wanted = [f for f in frames if parsed_tunnel_id(f) in (546, 0x7272)]
    assert len(wanted) == 3
    with open_ring(veth_pair) as ring:
        ring.set_policy(False)
        ring.add_rule(Rule(rule_id=1, tunnel_id=546, proto=17))
        ring.add_rule(Rule(rule_id=2, tunnel_id=0x7272))
        ring.add_rule(Rule(rule_id=3, tunnel_id=546, proto=6))      # the tunnel is over UDP
        ring.enable()
        send_from_b(veth_pair, frames)
        assert sorted(d for _, d in drain(ring, quiet=0.4)) == sorted(wanted)
        assert [ring.rule_stats(i).match for i in (1, 2, 3)] == [2, 1, 0]


def test_tunnel_hosts_are_refused(veth_pair):
    with open_ring(veth_pair) as ring:
        r = Rule(rule_id=1, tunnel_id=5).to_c()
        r.extended_fields.tunnel.shost.v4 = 0x0A000001
        assert lib.pfring_add_filtering_rule(ring._h(), r) == lib.PF_RING_ERROR_NOT_SUPPORTED
        assert "extended_fields.tunnel hosts are not supported" in ring.last_error
        with pytest.raises(InvalidArgumentError, match="tunnel_id 4294967296 is out of range"):
            ring.add_rule(Rule(rule_id=1, tunnel_id=1 << 32))
        with pytest.raises(TypeError, match="tunnel_id must be an int"):
            ring.add_rule(Rule(rule_id=1, tunnel_id="5"))
        assert ring.rules_program_loads() == 0          # nothing was installed
