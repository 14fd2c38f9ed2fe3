"""BPF filters of zc: rings in the XDP program (kernel/xdp/, drivers/af_xdp.c).

The ring's classic program runs in the XDP program, by the interpreter the
rules program uses (kernel/common/cbpf_interp.h): a frame it keeps goes to
the ring's AF_XDP socket, a frame it rejects goes on to the host stack.
Frames carry a serial; each test asserts exactly which frames reached the
ring (byte for byte, in order) and exactly which reached the stack: a
standard ring (an AF_PACKET socket) on the same interface sees the rejected
frames and only those, and the stack answers a ping the filter rejects.
veth runs XDP natively (the rings bind in copy mode).
"""
import ctypes
import json
import os
import re
import socket
import struct
import sys
import time

import pytest

from pcap_pfring import Direction, InvalidArgumentError, NotSupportedError, Ring
from pcap_pfring._ffi import ffi
from pcap_pfring.errors import check
from pcap_pfring.status import list_rings
from pcap_pfring.testing.fixtures import collect, drain, frame, send_frames
from pcap_pfring.testing.procs import Process, Tcpdump

pytestmark = pytest.mark.needs_root

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DROP_IN = os.path.join(ROOT, "build", "libpcap-pfring")
MARK = b"PFZB"

BPF_WHERE_NONE, BPF_WHERE_KERNEL, BPF_WHERE_USERSPACE = 0, 1, 2
PFRING_BPF_FILTER_QUEUED, PFRING_BPF_FALLBACK = 1, 2
SKF_AD_OFF = -0x1000 & 0xFFFFFFFF
SKF_AD = {"protocol": 0, "pkttype": 4, "ifindex": 8, "mark": 20, "queue": 24, "hatype": 28,
          "vlan_tci": 44, "vlan_avail": 48}
LD_W_ABS, LD_H_ABS, JEQ_K, RET_K = 0x20, 0x28, 0x15, 0x06
PACKET_HOST, PACKET_BROADCAST, PACKET_OTHERHOST = 0, 1, 3


# -- frames -------------------------------------------------------------------------

def ipv4(pair, serial, proto, sport, dport, *, dmac=None):
    """An IPv4 frame from b's address to a's, ``serial`` in its payload."""
    payload = MARK + struct.pack("!I", serial) + b"." * 8
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x10, 1024, 0, 0) + payload
    else:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    src, dst = (bytes(map(int, a.split("."))) for a in (pair.ip_b, pair.ip_a))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), serial & 0xFFFF, 0, 64, proto, 0,
                     src, dst)
    return frame(dmac or pair.mac_a, pair.mac_b, 0x0800, ip + l4)


def other(pair, serial, ethertype=0x88B5, dmac=None):
    return frame(dmac or pair.mac_a, pair.mac_b, ethertype, MARK + struct.pack("!I", serial))


def mixed(pair, n=40, base=0):
    """Serial i: UDP to 5001, UDP to 5002, TCP to 5001 or not IP, in turn."""
    out = []
    for i in range(base, base + n):
        kind = i % 4
        if kind == 0:
            out.append(ipv4(pair, i, 17, 4000 + i, 5001))
        elif kind == 1:
            out.append(ipv4(pair, i, 17, 4000 + i, 5002))
        elif kind == 2:
            out.append(ipv4(pair, i, 6, 4000 + i, 5001))
        else:
            out.append(other(pair, i))
    return out


def is_udp_to(f, port):
    return f[12:14] == b"\x08\x00" and f[23] == 17 and struct.unpack("!H", f[36:38])[0] == port


def serial_of(f):
    i = f.find(MARK)
    return struct.unpack("!I", f[i + 4:i + 8])[0] if i >= 0 else None


def ours(frames):
    """The test's frames among what a socket saw (the stacks add ARP, ...)."""
    return [f for f in frames if serial_of(f) is not None]


# -- helpers ----------------------------------------------------------------------

def xdp_prog_id(ns, ifname):
    out = ns.run(["ip", "-d", "link", "show", ifname]).stdout
    m = re.search(r"prog/xdp\S* id (\d+) name (\S+)", out)
    return (int(m.group(1)), m.group(2)) if m else None


def open_pair(pair):
    """The zc: ring and a standard ring (the stack's view) on a's end."""
    with pair.a.enter():
        zc = Ring(f"zc:{pair.if_a}", 1536)
        std = Ring(pair.if_a, 1536)
    std.set_direction(Direction.RX_ONLY)
    zc.enable()
    std.enable()
    return zc, std


def run(pair, zc, std, frames):
    """Sends frames from b; (what the zc: ring got, what the stack saw)."""
    send_frames(pair.b, pair.if_b, frames)
    got = [d for _, d in collect(zc, 1, timeout=2)] if frames else []
    got += [d for _, d in drain(zc, quiet=0.3)]
    seen = [d for _, d in drain(std, quiet=0.3)]
    return ours(got), ours(seen)


def status_entry(ready, timeout=5.0):
    """The status fields of this process's one zc: ring, once ready(fields)
    holds (its worker rewrites the file), or as they are after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [r.fields for r in list_rings() if r.pid == os.getpid() and
                r.fields.get("Breed") == "ZC"]
        assert len(mine) == 1, mine
        if ready(mine[0]) or time.monotonic() > deadline:
            return mine[0]
        time.sleep(0.05)


class _BpfInfo(ctypes.Structure):
    _fields_ = [("where", ctypes.c_int), ("len", ctypes.c_uint32),
                ("checking_queued", ctypes.c_int), ("rejected", ctypes.c_uint64)]


def _libpfring():
    """The libpfring this process loaded (the package's, or the ASan build's)."""
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if os.path.basename(path).startswith("libpfring.so"):
                return ctypes.CDLL(path)
    raise AssertionError("libpfring is not loaded")


def _handle(ring):
    return ctypes.c_void_p(int(ffi.cast("uintptr_t", ring._h())))


def bpf_info(ring):
    info = _BpfInfo()
    assert _libpfring().pfring_get_bpf_info(_handle(ring), ctypes.byref(info)) == 0
    return info


def set_program(ring, insns, flags=0, expr=None):
    """pfring_set_bpf_program_ex with a raw classic program: [(code, jt, jf, k)]."""
    blob = b"".join(struct.pack("=HBBI", c, jt, jf, k & 0xFFFFFFFF) for c, jt, jf, k in insns)
    buf = ctypes.create_string_buffer(blob, len(blob))
    fn = _libpfring().pfring_set_bpf_program_ex
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_char_p,
                   ctypes.c_uint32]
    rc = fn(_handle(ring), buf, len(insns), expr.encode() if expr else None, flags)
    return check(rc, ring._h())          # the same exceptions as every Ring call


def ancillary_eq(name, value):
    """ld [SKF_AD_OFF + name]; jeq #value: keep (262144) or drop."""
    return [(LD_W_ABS, 0, 0, SKF_AD_OFF + SKF_AD[name]), (JEQ_K, 0, 1, value),
            (RET_K, 0, 0, 262144), (RET_K, 0, 0, 0)]


ETHER_88B5 = [(LD_H_ABS, 0, 0, 12), (JEQ_K, 0, 1, 0x88B5), (RET_K, 0, 0, 262144),
              (RET_K, 0, 0, 0)]


# -- the filter in the XDP program ----------------------------------------------------

def test_filter_runs_in_the_xdp_program_and_rejects_go_to_the_stack(veth_pair):
    pair = veth_pair
    sent = mixed(pair, 60)
    keep = [f for f in sent if is_udp_to(f, 5001)]
    zc, std = open_pair(pair)
    with zc, std:
        zc.set_bpf_filter("udp and dst port 5001")
        info = bpf_info(zc)
        assert (info.where, info.checking_queued) == (BPF_WHERE_KERNEL, 0)
        got, seen = run(pair, zc, std, sent)
        stats, kstats, info = zc.stats(), zc.kernel_stats(), bpf_info(zc)
        entry = status_entry(lambda f: f.get("Tot Packets") == str(len(keep)))
    assert got == keep
    assert seen == [f for f in sent if f not in keep]
    # Rejected in the XDP program: neither drops nor user-space rejects.
    assert (stats.recv, stats.drop) == (len(keep), 0)
    assert (kstats.recv, kstats.drop) == (len(keep), 0)
    assert info.rejected == 0
    # The status tree (rewritten by its worker) says the same.
    assert (entry["Tot Packets"], entry["Tot Pkt Lost"]) == (str(len(keep)), "0")
    assert entry["BPF Filtering"] == "Enabled"


def test_filter_change_on_an_open_ring_swaps_it_in_place(veth_pair):
    pair = veth_pair
    zc, std = open_pair(pair)
    with zc, std:
        prog = xdp_prog_id(pair.a, pair.if_a)
        assert prog[1] == "pfring_xdp_rx"
        sent = mixed(pair, 40, 0)
        zc.set_bpf_filter("udp and dst port 5001")
        first, seen1 = run(pair, zc, std, sent)
        sent2 = mixed(pair, 40, 100)
        zc.set_bpf_filter("tcp or ether proto 0x88b5")
        second, seen2 = run(pair, zc, std, sent2)
        assert xdp_prog_id(pair.a, pair.if_a) == prog    # the same program, not reattached
        sent3 = mixed(pair, 20, 200)
        zc.remove_bpf_filter()
        third, seen3 = run(pair, zc, std, sent3)
        assert bpf_info(zc).where == BPF_WHERE_NONE
        assert xdp_prog_id(pair.a, pair.if_a) == prog
    assert first == [f for f in sent if is_udp_to(f, 5001)]
    assert seen1 == [f for f in sent if not is_udp_to(f, 5001)]
    assert [serial_of(f) for f in second] == [i for i in range(100, 140) if i % 4 in (2, 3)]
    assert [serial_of(f) for f in seen2] == [i for i in range(100, 140) if i % 4 in (0, 1)]
    assert (third, seen3) == (sent3, [])


def test_filter_set_before_enable_and_direction_change_keep_it(veth_pair):
    pair = veth_pair
    sent = mixed(pair, 40)
    with pair.a.enter():
        zc = Ring(f"zc:{pair.if_a}", 1536)
        std = Ring(pair.if_a, 1536)
    std.set_direction(Direction.RX_ONLY)
    with zc, std:
        zc.set_bpf_filter("udp")
        zc.enable()
        std.enable()
        zc.set_direction(Direction.RX_ONLY)       # the filter state again: the same program
        got, seen = run(pair, zc, std, sent)
    assert got == [f for f in sent if f[12:14] == b"\x08\x00" and f[23] == 17]
    assert seen == [f for f in sent if f not in got]


def udp_sockets(pair):
    """A UDP socket on a's address, port 7000, and one on b's."""
    with pair.a.enter():
        sa = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sa.bind((pair.ip_a, 7000))
    with pair.b.enter():
        sb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sb.bind((pair.ip_b, 7001))
    sa.settimeout(1.0)
    sb.settimeout(1.0)
    return sa, sb


def exchange(sa, sb, pair, text):
    """b sends text to a's socket, a answers: (what a got, what b got)."""
    sb.sendto(text, (pair.ip_a, 7000))
    try:
        got_a, _ = sa.recvfrom(100)
    except socket.timeout:
        return None, None
    sa.sendto(b"re:" + got_a, (pair.ip_b, 7001))
    try:
        return got_a, sb.recvfrom(100)[0]
    except socket.timeout:
        return got_a, None


def test_the_stack_answers_what_the_filter_rejects(veth_pair):
    """A datagram to port 7000 (and the ARP before it) is rejected by
    "udp port 5001": a's stack delivers it to its socket, which answers.
    With "udp" the ring takes it instead and a's socket gets nothing."""
    pair = veth_pair
    sa, sb = udp_sockets(pair)
    with pair.a.enter():
        zc = Ring(f"zc:{pair.if_a}", 1536, enable=True)
    with zc, sa, sb:
        zc.set_bpf_filter("udp port 5001")
        answered = exchange(sa, sb, pair, b"one")
        before = ours_udp(zc)
        zc.set_bpf_filter("udp")
        taken = exchange(sa, sb, pair, b"two")
        after = ours_udp(zc)
    assert answered == (b"one", b"re:one")
    assert before == []
    assert taken == (None, None)
    assert after == [b"two"]


def ours_udp(ring):
    """The payloads of the UDP datagrams to port 7000 the ring got."""
    return [d[42:42 + struct.unpack("!H", d[38:40])[0] - 8]
            for _, d in drain(ring, quiet=0.3) if is_udp_to(d, 7000)]


def test_filter_then_sampling(veth_pair):
    """The filter runs first, then the sampler counts what it kept (PF_RING's order)."""
    pair = veth_pair
    sent = mixed(pair, 80)
    keep = [f for f in sent if is_udp_to(f, 5001)]
    zc, std = open_pair(pair)
    with zc, std:
        zc.set_bpf_filter("udp and dst port 5001")
        zc.set_sampling_rate(3)
        got, seen = run(pair, zc, std, sent)
        stats = zc.stats()
    assert got == keep[::3]
    assert seen == [f for f in sent if f not in keep]
    assert (stats.recv, stats.drop) == (len(keep[::3]), 0)


def test_vlan_expressions_stay_in_user_space(veth_pair):
    pair = veth_pair
    tagged = [frame(pair.mac_a, pair.mac_b, 0x88B5, MARK + struct.pack("!I", i),
                    vlan=100 if i % 2 else 200) for i in range(20)]
    zc, std = open_pair(pair)
    with zc, std:
        zc.set_bpf_filter("vlan 100")
        info = bpf_info(zc)
        got, seen = run(pair, zc, std, tagged)
        rejected = bpf_info(zc).rejected
    assert info.where == BPF_WHERE_USERSPACE
    assert got == tagged[1::2]
    assert seen == []                  # the XDP program takes every frame
    assert rejected == 10


# -- ancillary loads --------------------------------------------------------------------

def test_ancillary_loads_in_the_xdp_program(veth_pair):
    pair = veth_pair
    with pair.a.enter():
        ifindex = socket.if_nametoindex(pair.if_a)
    zc, std = open_pair(pair)
    with zc, std:
        sent = [other(pair, i) for i in range(10)]
        set_program(zc, ancillary_eq("ifindex", ifindex))
        assert bpf_info(zc).where == BPF_WHERE_KERNEL
        by_ifindex = run(pair, zc, std, sent)
        set_program(zc, ancillary_eq("ifindex", ifindex + 1000))
        by_other_ifindex = run(pair, zc, std, sent)
        both = [other(pair, i, 0x88B5 if i % 2 else 0x88B6) for i in range(10)]
        set_program(zc, ancillary_eq("protocol", 0x88B6))
        by_protocol = run(pair, zc, std, both)
        to = [pair.mac_a, b"\xff" * 6, bytes.fromhex("02aa000000ff")]
        kinds = [other(pair, i, dmac=to[i % 3]) for i in range(9)]
        set_program(zc, ancillary_eq("pkttype", PACKET_HOST))
        host = run(pair, zc, std, kinds)
        set_program(zc, ancillary_eq("pkttype", PACKET_BROADCAST))
        bcast = run(pair, zc, std, kinds)
        set_program(zc, ancillary_eq("hatype", 1))      # ARPHRD_ETHER
        ether = run(pair, zc, std, sent)
    assert by_ifindex == (sent, [])
    assert by_other_ifindex == ([], sent)
    assert by_protocol == (both[0::2], both[1::2])
    assert host == (kinds[0::3], [f for i, f in enumerate(kinds) if i % 3])
    assert bcast == (kinds[1::3], [f for i, f in enumerate(kinds) if i % 3 != 1])
    assert ether == (sent, [])


@pytest.mark.parametrize("name", ["mark", "queue", "vlan_tci", "vlan_avail"])
def test_ancillary_loads_xdp_cannot_give_are_refused(veth_pair, name):
    pair = veth_pair
    sent = mixed(pair, 20)
    zc, std = open_pair(pair)
    with zc, std:
        zc.set_bpf_filter("udp and dst port 5001")
        with pytest.raises(NotSupportedError,
                           match=rf"loads the ancillary field '{name}' \(SKF_AD_OFF \+ "
                                 rf"{SKF_AD[name]}, instruction 0\), which the XDP program "
                                 r"of a zc: ring cannot give"):
            set_program(zc, ancillary_eq(name, 0))
        info = bpf_info(zc)
        got, seen = run(pair, zc, std, sent)          # the old filter, still in force
    assert info.where == BPF_WHERE_KERNEL
    assert got == [f for f in sent if is_udp_to(f, 5001)]
    assert seen == [f for f in sent if not is_udp_to(f, 5001)]


def test_refused_ancillary_load_falls_back_to_user_space(veth_pair):
    """With PFRING_BPF_FALLBACK the program runs in user space: the XDP
    program takes every frame and user space runs the program on them (the
    system libpcap's interpreter has no mark: the load ends it with 0)."""
    pair = veth_pair
    sent = [other(pair, i) for i in range(10)]
    zc, std = open_pair(pair)
    with zc, std:
        set_program(zc, [(LD_W_ABS, 0, 0, SKF_AD_OFF + SKF_AD["mark"]), *ETHER_88B5],
                    PFRING_BPF_FALLBACK)
        info = bpf_info(zc)
        got, seen = run(pair, zc, std, sent)
        rejected = bpf_info(zc).rejected
    assert info.where == BPF_WHERE_USERSPACE
    assert (got, seen) == ([], [])
    assert rejected == len(sent)


# -- bad filters ------------------------------------------------------------------------

def test_bad_filters_are_named_and_keep_the_old_one(veth_pair):
    pair = veth_pair
    sent = mixed(pair, 20)
    zc, std = open_pair(pair)
    with zc, std:
        zc.set_bpf_filter("udp and dst port 5001")
        with pytest.raises(InvalidArgumentError, match="syntax error"):
            zc.set_bpf_filter("udp and dst port")
        with pytest.raises(InvalidArgumentError,
                           match=r"the kernel's classic BPF checker refuses the BPF program "
                                 rf"of '{pair.if_a}' \(2 instructions\)"):
            set_program(zc, [(JEQ_K, 5, 0, 1), (RET_K, 0, 0, 0)])     # a jump out of it
        with pytest.raises(InvalidArgumentError, match="classic BPF checker refuses"):
            set_program(zc, [(LD_H_ABS, 0, 0, 12)])                  # no return
        info = bpf_info(zc)
        got, seen = run(pair, zc, std, sent)
    assert info.where == BPF_WHERE_KERNEL                 # the old filter, in force
    assert got == [f for f in sent if is_udp_to(f, 5001)]
    assert seen == [f for f in sent if not is_udp_to(f, 5001)]


def test_program_over_4096_instructions(veth_pair):
    pair = veth_pair
    sent = [other(pair, i, 0x88B5 if i % 2 else 0x88B6) for i in range(10)]
    long_prog = [(LD_H_ABS, 0, 0, 12)] * 4100 + ETHER_88B5
    zc, std = open_pair(pair)
    with zc, std:
        with pytest.raises(InvalidArgumentError, match="the kernel takes at most 4096"):
            set_program(zc, long_prog)
        set_program(zc, long_prog, PFRING_BPF_FALLBACK)       # runs in user space
        info = bpf_info(zc)
        got, seen = run(pair, zc, std, sent)
    assert info.where == BPF_WHERE_USERSPACE
    assert (got, seen) == (sent[1::2], [])


# -- packets queued before a change -------------------------------------------------------

def test_queued_frames_are_checked_against_the_new_filter(veth_pair):
    """PFRING_BPF_FILTER_QUEUED (libpcap's pcap_setfilter): frames the old
    filter (none) put on the RX ring before the change are checked in user
    space; frames after it are the XDP program's."""
    pair = veth_pair
    before = [other(pair, i, 0x88B5 if i % 2 else 0x88B6) for i in range(20)]
    after = [other(pair, i, 0x88B5 if i % 2 else 0x88B6) for i in range(100, 120)]
    zc, std = open_pair(pair)
    with zc, std:
        send_frames(pair.b, pair.if_b, before)
        time.sleep(0.2)                                   # on the RX ring, unread
        set_program(zc, ETHER_88B5, PFRING_BPF_FILTER_QUEUED | PFRING_BPF_FALLBACK)
        assert bpf_info(zc).where == BPF_WHERE_KERNEL
        got, seen = run(pair, zc, std, after)
        info = bpf_info(zc)
    assert got == before[1::2] + after[1::2]
    assert seen == after[0::2]
    assert (info.rejected, info.checking_queued) == (10, 0)


# -- the drop-in ------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists("/usr/bin/tcpdump"), reason="tcpdump is not installed")
def test_tcpdump_on_zc_with_a_filter_through_the_drop_in(veth_pair, tmp_path):
    pair = veth_pair
    if not os.path.exists(os.path.join(DROP_IN, "libpcap.so.0.8")):
        pytest.skip("the drop-in is not built (make lib)")
    sent = mixed(pair, 40)
    keep = [f for f in sent if is_udp_to(f, 5001)]
    with pair.a.enter():
        std = Ring(pair.if_a, 1536)
    std.set_direction(Direction.RX_ONLY)
    std.enable()
    with std, Tcpdump(pair.a, DROP_IN, f"zc:{pair.if_a}", tmp_path / "zc.pcap", len(keep),
                      "udp port 5001") as td:
        assert xdp_prog_id(pair.a, pair.if_a) is not None
        send_frames(pair.b, pair.if_b, sent)
        records = td.records()
        seen = ours([d for _, d in drain(std, quiet=0.3)])
    assert records == keep
    assert seen == [f for f in sent if f not in keep]   # the filter ran in the XDP program


# -- without CAP_PERFMON -------------------------------------------------------------------

CHILD_RING = """
import json, sys
from pcap_pfring import Ring
from pcap_pfring.testing.fixtures import collect, drain
sys.path.insert(0, sys.argv[3])
from test_zc_bpf import bpf_info
ring = Ring("zc:" + sys.argv[1], 1536)
ring.set_bpf_filter("ether proto 0x88b5")
ring.enable()
print("ready", flush=True)
got = [d.hex() for _, d in collect(ring, int(sys.argv[2]), timeout=10)]
got += [d.hex() for _, d in drain(ring, quiet=0.3)]
info = bpf_info(ring)
print(json.dumps({"got": got, "where": info.where, "rejected": info.rejected}), flush=True)
"""


@pytest.mark.skipif(not os.path.exists("/usr/sbin/capsh"), reason="capsh is not installed")
def test_without_cap_perfmon_the_filter_runs_in_user_space(veth_pair):
    """The verifier refuses the interpreter without CAP_PERFMON (or
    CAP_SYS_ADMIN): the ring opens with the XDP program without it, and its
    BPF filters run in user space."""
    pair = veth_pair
    sent = [other(pair, i, 0x88B5 if i % 2 else 0x88B6) for i in range(20)]
    here = os.path.dirname(os.path.abspath(__file__))
    p = Process(pair.a, ["/usr/sbin/capsh", "--drop=cap_perfmon,cap_sys_admin", "--", "-c",
                         'exec "$@"', "sh", sys.executable, "-c", CHILD_RING, pair.if_a,
                         "10", here], name="zc-ring")
    try:
        p.wait_out("ready", timeout=30)
        assert xdp_prog_id(pair.a, pair.if_a)[1] == "pfring_xdp_rxnf"
        send_frames(pair.b, pair.if_b, sent)
        rc, out, err = p.finish(30)
    finally:
        p.kill()
    assert rc == 0, err
    res = json.loads(out.splitlines()[-1])
    assert [bytes.fromhex(h) for h in res["got"]] == sent[1::2]
    assert (res["where"], res["rejected"]) == (BPF_WHERE_USERSPACE, 10)
