"""Cluster hash programs (kernel/cluster.c) without root: each type's member
choice over a mixed set of frames, run in the classic BPF interpreter and
compared with the reference implementation; symmetry; spread."""
import os
import pathlib
import random
import struct
import subprocess

import pytest

from pcap_pfring.testing import cbpf
from pcap_pfring.testing.cluster_ref import cluster_hash

ROOT = pathlib.Path(__file__).resolve().parents[2]
TYPES = [0, 2, 3, 4, 5, 11]
A_MAC, B_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    exe = tmp_path_factory.mktemp("cluster") / "cluster_dump"
    subprocess.run(["gcc", "-std=gnu11", "-Wall", "-Werror", f"-I{ROOT}/libpfring/include",
                    f"-I{ROOT}/libpfring/src", "-o", str(exe),
                    str(ROOT / "tests/unit/c/cluster_dump.c"), str(ROOT / "kernel/cluster.c")],
                   check=True)
    cache = {}

    def get(ctype):
        if ctype not in cache:
            out = subprocess.run([str(exe), str(ctype)], capture_output=True, text=True,
                                 check=True).stdout
            cache[ctype] = out.strip() if out.startswith("error") else \
                [tuple(map(int, line.split())) for line in out.splitlines()]
        return cache[ctype]
    return get


def ipv4(src, dst, proto, l4, frag=0x4000, ihl=5):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + 4 * (ihl - 5) + len(l4), 1, frag, 64,
                      proto, 0, bytes(src), bytes(dst))
    return hdr + b"\x01" * (4 * (ihl - 5)) + l4


def ipv6(src, dst, nh, l4):
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), nh, 64, bytes(src), bytes(dst)) + l4


def ports(sport, dport):
    return struct.pack("!HH", sport, dport) + b"\0" * 16


def eth(ethertype, payload, tags=(), src=A_MAC, dst=B_MAC):
    out = dst + src
    for vid in tags:
        out += struct.pack("!HH", 0x8100, vid)
    return out + struct.pack("!H", ethertype) + payload


def flows(rng, n):
    """n random flows as (forward frame, reverse frame, vlan_tci) triples."""
    out = []
    for i in range(n):
        kind = i % 6
        a4 = [10, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)]
        b4 = [192, 168, rng.randrange(256), rng.randrange(1, 255)]
        a6 = [0x20, 1] + [rng.randrange(256) for _ in range(14)]
        b6 = [0xfd, 0] + [rng.randrange(256) for _ in range(14)]
        sp, dp = rng.randrange(1024, 65535), rng.choice([53, 80, 443, rng.randrange(65535)])
        proto = rng.choice([6, 17, 132, 1])
        vlan = None
        if kind == 0:
            f, r = ipv4(a4, b4, proto, ports(sp, dp)), ipv4(b4, a4, proto, ports(dp, sp))
            fr, rr = eth(0x0800, f), eth(0x0800, r, src=B_MAC, dst=A_MAC)
        elif kind == 1:
            f, r = ipv6(a6, b6, proto, ports(sp, dp)), ipv6(b6, a6, proto, ports(dp, sp))
            fr, rr = eth(0x86DD, f), eth(0x86DD, r, src=B_MAC, dst=A_MAC)
        elif kind == 2:                       # VLAN in metadata
            vlan = rng.randrange(1, 4095)
            fr = eth(0x0800, ipv4(a4, b4, proto, ports(sp, dp)))
            rr = eth(0x0800, ipv4(b4, a4, proto, ports(dp, sp)), src=B_MAC, dst=A_MAC)
        elif kind == 3:                       # QinQ: outer in metadata, inner in data
            vlan = 100
            fr = eth(0x0800, ipv4(a4, b4, proto, ports(sp, dp)), tags=[7])
            rr = eth(0x0800, ipv4(b4, a4, proto, ports(dp, sp)), tags=[7], src=B_MAC, dst=A_MAC)
        elif kind == 4:                       # IPv4 with options
            fr = eth(0x0800, ipv4(a4, b4, proto, ports(sp, dp), ihl=7))
            rr = eth(0x0800, ipv4(b4, a4, proto, ports(dp, sp), ihl=7), src=B_MAC, dst=A_MAC)
        else:                                 # ARP (non-IP)
            fr = eth(0x0806, b"\0" * 28, src=bytes([2, 0, 0, 0, i >> 8 & 255, i & 255]))
            rr = eth(0x0806, b"\0" * 28, src=B_MAC, dst=bytes([2, 0, 0, 0, i >> 8 & 255, i & 255]))
            rr = rr[:6] + fr[:6] + rr[12:]
        out.append((fr, rr, vlan))
    return out


def run(prog, frame, vlan):
    return cbpf.run(prog, frame, vlan_tci=vlan)


@pytest.mark.parametrize("ctype", TYPES)
def test_program_matches_reference_and_is_symmetric(program, ctype):
    prog = program(ctype)
    cbpf.check(prog)                      # what the kernel verifies at load time
    for fwd, rev, vlan in flows(random.Random(ctype), 600):
        h = run(prog, fwd, vlan)
        assert h == cluster_hash(ctype, fwd, vlan)
        assert run(prog, rev, vlan) == h
        for n in (2, 3, 4):
            assert h % n == cluster_hash(ctype, rev, vlan) % n


@pytest.mark.parametrize("ctype", TYPES)
def test_fragments_of_a_datagram_stay_together(program, ctype):
    prog = program(ctype)
    a, b = [10, 0, 0, 1], [10, 0, 0, 2]
    first = eth(0x0800, ipv4(a, b, 17, ports(1000, 2000), frag=0x2000))
    middle = eth(0x0800, ipv4(a, b, 17, b"\xaa" * 20, frag=0x2003))
    last = eth(0x0800, ipv4(a, b, 17, b"\xbb" * 20, frag=0x0006))
    assert run(prog, first, None) == run(prog, middle, None) == run(prog, last, None)


def test_non_ip_goes_to_member_zero_except_ip_5_tuple(program):
    arp = eth(0x0806, b"\0" * 28)
    for ctype in (0, 2, 3, 4, 5):
        assert run(program(ctype), arp, None) == 0
    assert run(program(11), arp, None) == cluster_hash(11, arp) != 0


def test_field_selection(program):
    a, b = [10, 0, 0, 1], [10, 0, 0, 2]
    base = eth(0x0800, ipv4(a, b, 17, ports(1, 2)))
    other_ports = eth(0x0800, ipv4(a, b, 17, ports(3, 4)))
    other_proto = eth(0x0800, ipv4(a, b, 132, ports(1, 2)))
    h = {t: program(t) for t in TYPES}
    assert run(h[2], base, None) == run(h[2], other_ports, None) == run(h[2], other_proto, None)
    assert run(h[3], base, None) != run(h[3], other_ports, None)
    assert run(h[3], base, None) == run(h[3], other_proto, None)
    assert run(h[4], base, None) != run(h[4], other_proto, None)
    assert run(h[0], base, 10) != run(h[0], base, 11)          # VLAN counts for per_flow
    assert run(h[4], base, 10) == run(h[4], base, 11)          # and only there
    tcp = eth(0x0800, ipv4(a, b, 6, ports(1, 2)))
    tcp2 = eth(0x0800, ipv4(a, b, 6, ports(5, 6)))
    assert run(h[5], tcp, None) != run(h[5], tcp2, None)       # TCP: 5-tuple
    assert run(h[5], base, None) == run(h[5], other_ports, None)  # UDP: 2-tuple


@pytest.mark.parametrize("ctype", TYPES)
def test_spread_within_20_percent(program, ctype):
    prog = program(ctype)
    rng = random.Random(100 + ctype)
    hashes = []
    for _ in range(1000):
        a4 = [10, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)]
        b4 = [172, 16, rng.randrange(256), rng.randrange(1, 255)]
        f = eth(0x0800, ipv4(a4, b4, 6, ports(rng.randrange(1024, 65535), 443)))
        hashes.append(run(prog, f, None))
    for n in (2, 3, 4):
        counts = [sum(1 for h in hashes if h % n == m) for m in range(n)]
        assert all(abs(c - 1000 / n) <= 0.2 * 1000 / n for c in counts), (n, counts)


@pytest.mark.parametrize("ctype, rc, text", [
    (1, -7, "round robin needs no program"),
    (6, -7, "inner flow"),
    (12, -7, "inner flow"),
    (13, -7, "duplication"),
    (14, -2, "out of range"),
])
def test_unsupported_types(program, ctype, rc, text):
    out = program(ctype)
    assert out.startswith(f"error {rc} ") and text in out


GOLDEN_DIR = ROOT / "tests" / "unit" / "data" / "cluster"


@pytest.mark.parametrize("ctype", TYPES)
def test_golden_listing(program, ctype):
    """The exact instructions of each type.  A generator change must show
    here which programs changed (UPDATE_GOLDEN=1 rewrites the listings)."""
    listing = "\n".join(cbpf.disasm(program(ctype))) + "\n"
    path = GOLDEN_DIR / f"type{ctype}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(listing)
    assert listing == path.read_text()
