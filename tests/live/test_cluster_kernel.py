"""The cluster hash programs in a real kernel fanout group, without the library.

Only kernel/cluster.c (through the C harness tests/unit/c/cluster_dump.c)
and plain Python packet sockets: N AF_PACKET sockets bound to a veth join one
PACKET_FANOUT_CBPF group, the type's program is loaded with
PACKET_FANOUT_DATA, and frames of many flows are sent both ways - received
(sent from the peer) and transmitted (sent from the capture side, which the
group sees as outgoing).  Each member must get exactly the frames that
pcap_pfring/testing/cluster_ref.py predicts: the outer VLAN tag of a
received frame is in metadata, a transmitted frame keeps its tags in the
data, and both forms of both directions of a flow land on one member.

The namespace has no addresses and IPv6 off, so the only frames on the link
are the test's own and the comparison is exact.
"""
import collections
import contextlib
import ctypes
import importlib.util
import os
import pathlib
import select
import socket
import struct
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOL_PACKET, PACKET_FANOUT, PACKET_FANOUT_DATA = 263, 18, 22
PACKET_FANOUT_CBPF = 6
ETH_P_ALL = 0x0003
CLONE_NEWNET = 0x40000000
SO_RCVBUFFORCE = 33
CAP, PEER = "cap0", "peer0"

_libc = ctypes.CDLL(None, use_errno=True)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ref = _load("_cluster_live_ref", ROOT / "pcap_pfring" / "testing" / "cluster_ref.py")
frames = _load("_cluster_live_frames", ROOT / "tests" / "unit" / "data" / "cluster" /
               "cluster_frames.py")


def ip(*args, check=True):
    res = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and res.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {res.stderr.strip()}")


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def inside(netns):
    """Switch this thread into the namespace for the block (sockets opened
    there stay in it)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


@pytest.fixture
def netns():
    """A throwaway namespace with the veth pair cap0 <-> peer0, deleted by name."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces and packet sockets")
    name = f"pfrclu-{uuid.uuid4().hex[:10]}"
    ip("netns", "add", name)
    try:
        subprocess.run(["ip", "netns", "exec", name, "sh", "-c",
                        "for f in all default; do "
                        "echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done"],
                       capture_output=True)
        ip("-n", name, "link", "add", CAP, "type", "veth", "peer", "name", PEER)
        for dev in (CAP, PEER):
            ip("-n", name, "link", "set", dev, "up")
        yield name
    finally:
        ip("netns", "delete", name, check=False)


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    """program(ctype) -> [(code, jt, jf, k)] from kernel/cluster.c."""
    exe = tmp_path_factory.mktemp("cluster") / "cluster_dump"
    subprocess.run(["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                    "-Werror", f"-I{ROOT}/libpfring/include", f"-I{ROOT}/libpfring/src",
                    "-o", str(exe), str(ROOT / "tests/unit/c/cluster_dump.c"),
                    str(ROOT / "kernel/cluster.c")], check=True)

    def get(ctype):
        out = subprocess.run([str(exe), str(ctype)], capture_output=True, text=True,
                             check=True).stdout
        assert not out.startswith("error"), out
        return [tuple(map(int, line.split())) for line in out.splitlines()]
    return get


def load_program(sock, prog):
    """PACKET_FANOUT_DATA with a struct sock_fprog {u16 len; filter *}."""
    insns = ctypes.create_string_buffer(b"".join(struct.pack("=HBBI", *i) for i in prog))
    fprog = struct.pack("=HxxxxxxQ", len(prog), ctypes.addressof(insns))
    sock.setsockopt(SOL_PACKET, PACKET_FANOUT_DATA, fprog)


def open_group(netns, group_id, members, prog):
    socks = []
    with inside(netns):
        for _ in range(members):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            socks.append(s)
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
            s.bind((CAP, ETH_P_ALL))
            s.setsockopt(SOL_PACKET, PACKET_FANOUT, group_id | PACKET_FANOUT_CBPF << 16)
            if len(socks) == 1:
                load_program(s, prog)
    return socks


def drain(socks, quiet=0.3):
    got = [[] for _ in socks]
    index = {s.fileno(): i for i, s in enumerate(socks)}
    while True:
        ready, _, _ = select.select(socks, [], [], quiet)
        if not ready:
            return got
        for s in ready:
            got[index[s.fileno()]].append(s.recv(65536))


def test_the_kernel_checks_the_program(netns, program):
    """The group takes every type's program; a broken one is refused, so a
    load that succeeds means the kernel's checks passed."""
    socks = open_group(netns, 7, 2, program(4))
    try:
        for ctype in ref.PROGRAM_TYPES:
            load_program(socks[1], program(ctype))
        with pytest.raises(OSError):
            load_program(socks[0], [(0x15, 200, 0, 0), (0x06, 0, 0, 0)])  # jeq past the end
    finally:
        for s in socks:
            s.close()


FLOWS = frames.fixture_flows() + frames.random_flows(7, 120)


@pytest.mark.parametrize("ctype", ref.PROGRAM_TYPES)
def test_members_get_what_the_reference_predicts(netns, program, ctype):
    prog = program(ctype)
    with inside(netns):
        rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        rx.bind((PEER, 0))                     # sends: received on cap0
        tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        tx.bind((CAP, 0))                      # sends: transmitted on cap0
    try:
        for members in (2, 3, 4):
            socks = open_group(netns, 100 + members, members, prog)
            try:
                want = [collections.Counter() for _ in range(members)]
                flow_members = collections.defaultdict(set)
                for name, fwd, rev in FLOWS:
                    for frame in (fwd, rev):
                        for sender, view in ((rx, ref.received(frame)),
                                             (tx, ref.transmitted(frame))):
                            sender.send(frame)
                            m = ref.member(ctype, view[0], members, view[1])
                            want[m][view[0]] += 1
                            flow_members[name, fwd].add(m)
                got = [collections.Counter(frames_) for frames_ in drain(socks)]
            finally:
                for s in socks:
                    s.close()
            assert all(len(ms) == 1 for ms in flow_members.values())
            assert sum(got, collections.Counter()) == sum(want, collections.Counter())
            for m in range(members):
                assert got[m] == want[m], (members, m, got[m] - want[m], want[m] - got[m])
            assert all(got), [sum(g.values()) for g in got]
    finally:
        rx.close()
        tx.close()
