"""Reference implementation of the cluster hash (kernel/cluster.c), written
from its specification, for tests: which member gets a frame."""
import struct

MIX = 0x9E3779B1
M32 = 0xFFFFFFFF
PORT_PROTOS = (6, 17, 132)


def _mix(h):
    h = (h * MIX) & M32
    return (h ^ (h >> 16)) & M32


def cluster_hash(ctype, frame, vlan_tci=None):
    """The program's return value for a frame (bytes as in the skb data, with
    the outer VLAN tag given separately as ``vlan_tci`` when it is in metadata)."""
    vlan = (vlan_tci & 0xFFF) if vlan_tci is not None else 0
    off = 12
    ethertype = struct.unpack_from("!H", frame, off)[0]
    for _ in range(2):
        if ethertype not in (0x8100, 0x88A8):
            break
        if vlan == 0:
            vlan = struct.unpack_from("!H", frame, off + 2)[0] & 0xFFF
        off += 4
        ethertype = struct.unpack_from("!H", frame, off)[0]
    l3 = off + 2
    use_ports = ctype != 2
    use_proto = ctype not in (2, 3)
    h = 0
    if ethertype == 0x0800:
        proto = frame[l3 + 9]
        src, dst = struct.unpack_from("!II", frame, l3 + 12)
        h += src + dst
        fragment = struct.unpack_from("!H", frame, l3 + 6)[0] & 0x3FFF
        l4 = l3 + (frame[l3] & 0x0F) * 4
    elif ethertype == 0x86DD:
        proto = frame[l3 + 6]
        h += sum(struct.unpack_from("!8I", frame, l3 + 8))
        fragment = 0
        l4 = l3 + 40
    elif ctype == 11:
        words = struct.unpack_from("!IHIH", frame, 0)
        return _mix(sum(words) & M32)
    else:
        return 0
    tcp_only = ctype == 5
    with_ports = use_ports and not fragment and (proto == 6 if tcp_only else proto in PORT_PROTOS)
    if with_ports:
        h += sum(struct.unpack_from("!HH", frame, l4))
    if tcp_only:
        if proto == 6:
            h += proto
    elif use_proto:
        h += proto
    if ctype == 0:
        h += vlan
    return _mix(h & M32)


def member(ctype, frame, members, vlan_tci=None):
    return cluster_hash(ctype, frame, vlan_tci) % members
