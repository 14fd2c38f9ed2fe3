"""Frames of many flows for the live cluster and RSS tests.

``make_flows(pair, n, seed)`` gives, for n flows between the two ends of a
``VethPair``, ``Flow(fid, kind, fwd, rev, vlan)``: ``fwd`` is sent from b (so
it is received on a's veth), ``rev`` from a (transmitted on a's veth), and a
member ring on a's veth sees both.  The kinds cycle through:

* ``ipv4``   TCP or UDP over IPv4, ``rev`` the reply;
* ``ipv6``   TCP or UDP over IPv6, ``rev`` the reply;
* ``vlan``   TCP or UDP over IPv4 in an 802.1Q tag (``vlan`` the VID), ``rev``
  the reply with the same tag;
* ``frag4``  an IPv4 datagram in two fragments, both from the same source
  address to the same destination: ``fwd`` the first (MF, with the ports),
  ``rev`` the second (offset 24 bytes, no ports), sent from a like the
  replies;
* ``frag6``  the same with an IPv6 fragment header.

The two frames of a flow belong together for every per-flow cluster type:
the replies by symmetry, the fragments because every fragment of a datagram
hashes without ports.  ``predicted(ctype, frame, vlan, members)`` is the
member a fanout group gives a *received* frame, from the reference model
(``cluster_ref``): a received frame's outer tag is in skb metadata.
``send_flows(pair, flows)`` sends them: ``fwd`` from b, ``rev`` from a.
"""
import collections
import random
import struct
import time

from ..netns import frame, send_frames
from .cluster_ref import cluster_hash

KINDS = ("ipv4", "ipv6", "vlan", "frag4", "frag6")

Flow = collections.namedtuple("Flow", "fid kind fwd rev vlan")


def ipv4(src, dst, proto, l4, frag=0x4000, ident=7):
    """An IPv4 packet; ``frag`` is the flags and offset field."""
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, frag, 64, proto, 0,
                       bytes(src), bytes(dst)) + l4


def ipv6(src, dst, nh, l4):
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), nh, 64, bytes(src), bytes(dst)) + l4


def ipv6_fragment(nh, offset, more, ident, payload):
    """An IPv6 fragment header (next header 44 in front of it) and payload;
    ``offset`` in 8-byte units."""
    return struct.pack("!BBHI", nh, 0, offset << 3 | int(more), ident) + payload


def l4(sport, dport, tag):
    """16 bytes of TCP/UDP: the ports, then ``tag`` to make frames unique."""
    return struct.pack("!HH", sport, dport) + struct.pack("!I", tag) + b"\0" * 12


def make_flows(pair, n, seed, kinds=KINDS):
    """n flows of the given kinds, in turn, between ``pair.mac_b`` (a->b
    frames come from b to a's veth) and ``pair.mac_a``."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        a4, b4 = [10, 1, rng.randrange(256), rng.randrange(1, 255)], [10, 2, 0, rng.randrange(1, 255)]
        a6 = [0x20, 1, 0xd, 0xb8] + [rng.randrange(256) for _ in range(12)]
        b6 = [0x20, 1, 0xd, 0xb9] + [rng.randrange(256) for _ in range(12)]
        sp, dp, proto = rng.randrange(1024, 65535), rng.randrange(1, 65535), rng.choice([6, 17])
        to_a, to_b = (pair.mac_a, pair.mac_b), (pair.mac_b, pair.mac_a)
        vlan = None
        if kind == "frag4":        # first fragment (MF) + the later one
            ident = i & 0xFFFF
            fwd = frame(*to_a, 0x0800, ipv4(a4, b4, 17, l4(sp, dp, i), 0x2000, ident))
            rev = frame(*to_b, 0x0800, ipv4(a4, b4, 17, i.to_bytes(4, "big") * 4, 0x0003, ident))
        elif kind == "frag6":
            first = ipv6_fragment(17, 0, True, i, l4(sp, dp, i) + b"\0" * 8)
            later = ipv6_fragment(17, 3, False, i, i.to_bytes(4, "big") * 4)
            fwd = frame(*to_a, 0x86DD, ipv6(a6, b6, 44, first))
            rev = frame(*to_b, 0x86DD, ipv6(a6, b6, 44, later))
        elif kind == "ipv6":
            fwd = frame(*to_a, 0x86DD, ipv6(a6, b6, proto, l4(sp, dp, i)))
            rev = frame(*to_b, 0x86DD, ipv6(b6, a6, proto, l4(dp, sp, i)))
        else:
            vlan = 50 + i % 7 if kind == "vlan" else None
            fwd = frame(*to_a, 0x0800, ipv4(a4, b4, proto, l4(sp, dp, i)), vlan=vlan)
            rev = frame(*to_b, 0x0800, ipv4(b4, a4, proto, l4(dp, sp, i)), vlan=vlan)
        out.append(Flow(i, kind, fwd, rev, vlan))
    return out


def predicted(ctype, data, rx_vlan, members):
    """The member of a received frame (``rx_vlan``: its tag's VID, or None)."""
    if rx_vlan is not None and data[12:14] == b"\x81\x00":
        # The receiving veth moves the tag into metadata before the program runs.
        return cluster_hash(ctype, data[:12] + data[16:], rx_vlan) % members
    return cluster_hash(ctype, data) % members


def send(pair, rx_frames, tx_frames=(), settle=0.2):
    """``rx_frames`` sent from b (received on a's veth), ``tx_frames`` from a
    (transmitted on it, so outgoing for a's rings); then ``settle`` seconds
    for the last ones to be delivered."""
    send_frames(pair.b, pair.if_b, rx_frames)
    send_frames(pair.a, pair.if_a, tx_frames)
    time.sleep(settle)


def send_flows(pair, flows, settle=0.2):
    """Every flow's ``fwd`` from b and ``rev`` from a."""
    send(pair, [f.fwd for f in flows], [f.rev for f in flows], settle)
