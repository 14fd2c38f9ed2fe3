"""Cluster hash programs (kernel/cluster.c) without root.

The C harness tests/unit/c/cluster_dump.c prints each type's program; the
programs run in the classic BPF interpreter (pcap_pfring/testing/cbpf.py)
over the frames of tests/unit/data/cluster/frames.pcap and over random
flows, and must agree with the independent reference
(pcap_pfring/testing/cluster_ref.py).  Every frame is run twice: as the
receiving side sees it (outer VLAN tag in skb metadata) and as the sending
side sees it (all tags in the data) - a fanout group sees both directions of
a flow in those two forms, and they must pick the same member.

Golden files (tests/unit/data/cluster/, rewritten with UPDATE_GOLDEN=1):
typeN.txt, the listing of each program; hashes.txt, every fixture frame's
hash per type.  frames.pcap is written by cluster_frames.py in the same
directory (run it after changing the flows).

These modules are loaded from the source tree by path, so the tests check
the sources as they are, whatever copy of the package is installed.
"""
import importlib.util
import os
import pathlib
import random
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "unit" / "data" / "cluster"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))
CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror", "-fPIC",
          "-fvisibility=hidden", f"-I{ROOT}/libpfring/include", f"-I{ROOT}/libpfring/src"]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cbpf = _load("_cluster_test_cbpf", ROOT / "pcap_pfring" / "testing" / "cbpf.py")
ref = _load("_cluster_test_ref", ROOT / "pcap_pfring" / "testing" / "cluster_ref.py")
frames = _load("_cluster_test_frames", DATA / "cluster_frames.py")

TYPES = list(ref.PROGRAM_TYPES)
OUTER_TYPES = [0, 2, 3, 4, 5, 11]
INNER_OF = {6: 4, 7: 2, 8: 3, 9: 4, 10: 5, 12: 11}     # inner type -> per-flow fields
MEMBERS = (2, 3, 4)


# --- the programs ------------------------------------------------------------

@pytest.fixture(scope="module")
def program(tmp_path_factory):
    """program(ctype, inline=False) -> [(code, jt, jf, k)], or the "error RC
    MESSAGE" line; inline: the socket filter fragment of the same hash."""
    exe = tmp_path_factory.mktemp("cluster") / "cluster_dump"
    subprocess.run(["gcc", *CFLAGS, "-o", str(exe), str(ROOT / "tests/unit/c/cluster_dump.c"),
                    str(ROOT / "kernel/cluster.c")], check=True)
    cache = {}

    def get(ctype, inline=False):
        if (ctype, inline) not in cache:
            args = [str(exe), str(ctype)] + (["inline"] if inline else [])
            out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
            cache[ctype, inline] = out.strip() if out.startswith("error") else \
                [tuple(map(int, line.split())) for line in out.splitlines()]
        return cache[ctype, inline]
    return get


def run(prog, view):
    data, vlan_tci = view
    return cbpf.run(prog, data, vlan_tci=vlan_tci)


def views(frame):
    """The frame as received (outer tag in metadata) and as transmitted."""
    return [ref.received(frame), ref.transmitted(frame)]


def test_library_flags_compile_cleanly(tmp_path):
    subprocess.run(["gcc", *CFLAGS, "-c", "-o", str(tmp_path / "cluster.o"),
                    str(ROOT / "kernel/cluster.c")], check=True)


# --- golden listings ---------------------------------------------------------

def _indexed(k):
    if cbpf.SKF_LL_OFF - 0x10000 <= k < cbpf.SKF_NET_OFF:
        return f"[x+ll{k - cbpf.SKF_LL_OFF:+d}]"
    if cbpf.SKF_NET_OFF <= k < cbpf.SKF_AD_OFF:
        return f"[x+net{k - cbpf.SKF_NET_OFF:+d}]"
    return f"[x+{k}]"


def listing(prog):
    out = []
    for i, line in enumerate(cbpf.disasm(prog)):
        line = re.sub(r"\[x\+(-?\d+)\]", lambda m: _indexed(int(m.group(1))), line)
        out.append(f"({i:03d}) {line}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("ctype", TYPES)
def test_golden_listing(program, ctype):
    """The exact instructions of each type: a generator change shows here."""
    text = listing(program(ctype))
    path = DATA / f"type{ctype}.txt"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("ctype", TYPES)
def test_kernel_limits_and_direction_independent_loads(program, ctype):
    prog = program(ctype)
    cbpf.check(prog)                              # the kernel's load-time checks
    assert len(prog) < 1024                       # BPF_MAXINSNS is 4096
    for code, _, _, k in prog:
        if code & 0x07 not in (0x00, 0x01) or code & 0xE0 not in (0x20, 0x40, 0xA0):
            continue
        assert code & 0xE0 != 0xA0, "ldx msh reads an absolute offset"
        k = k - (1 << 32) if k & 0x80000000 else k
        if code & 0xE0 == 0x20:                   # absolute: MAC-relative or ancillary
            assert cbpf.SKF_LL_OFF <= k < cbpf.SKF_NET_OFF or cbpf.SKF_AD_OFF <= k < 0, hex(k)
        else:                                     # indexed: MAC-relative
            assert cbpf.SKF_LL_OFF - 0x10000 <= k < cbpf.SKF_NET_OFF, hex(k)


@pytest.mark.parametrize("ctype, rc, text", [
    (1, -7, "round robin needs no program"),
    (13, -7, "cluster type 13 (cluster_per_flow_ip_with_dup_tuple, per flow with duplication) "
             "is not supported: it duplicates packets"),
    (14, -2, "internal error: cluster type 14 has no program"),
    (-1, -2, "internal error: cluster type -1 has no program"),
])
def test_types_without_program(program, ctype, rc, text):
    out = program(ctype)
    assert out.startswith(f"error {rc} {text}")


@pytest.mark.parametrize("ctype, rc", [(1, -7), (13, -7), (14, -2)])
def test_types_without_inline_hash(program, ctype, rc):
    assert program(ctype, inline=True).startswith(f"error {rc} ")


# --- the same hash inline (the RSS rehash of a socket filter) ----------------

RET_A, RET_0, JA = (0x16, 0, 0, 0), (0x06, 0, 0, 0), 0x05


@pytest.mark.parametrize("ctype", TYPES)
def test_inline_fragment_is_the_program_without_its_returns(program, ctype):
    """The fragment is the program minus the final "ret a", with the non-IP
    "ret #0" (types without a MAC pair) turned into a jump to the mixing, so
    every jump keeps its offset."""
    prog, frag = program(ctype), program(ctype, inline=True)
    assert prog[-1] == RET_A and len(frag) == len(prog) - 1
    differ = [i for i, (a, b) in enumerate(zip(prog, frag)) if a != b]
    if ctype in (11, 12):                         # the MAC pair: no ret #0 at all
        assert differ == [] and RET_0 not in prog
        return
    assert len(differ) == 1 and prog[differ[0]] == RET_0, differ
    i = differ[0]
    code, _, _, k = frag[i]
    assert code == JA and i + 1 + k == len(frag) - 12        # the 12 mixing instructions
    assert RET_0 not in frag and RET_A not in frag
    cbpf.check(frag + [RET_A])


@pytest.mark.parametrize("ctype", TYPES)
def test_inline_fragment_hashes_as_the_program(program, ctype):
    prog, frag = program(ctype), program(ctype, inline=True) + [RET_A]
    for name, fwd, rev in fixture() + frames.random_flows(2000 + ctype, 200):
        for frame in (fwd, rev):
            for view in views(frame):
                assert run(frag, view) == run(prog, view), (name, view)


# --- the fixture -------------------------------------------------------------

def test_pcap_fixture_is_up_to_date():
    assert frames.read_pcap(frames.PCAP) == frames.fixture_frames(), \
        "run tests/unit/data/cluster/cluster_frames.py"


def fixture():
    """[(name, forward, reverse)] with the frames read from frames.pcap."""
    flows = frames.fixture_flows()
    pcap = frames.read_pcap(frames.PCAP)
    return [(name, pcap[2 * i], pcap[2 * i + 1]) for i, (name, _, _) in enumerate(flows)]


@pytest.mark.parametrize("ctype", TYPES)
def test_fixture_members_match_reference(program, ctype):
    prog = program(ctype)
    for name, fwd, rev in fixture():
        for frame in (fwd, rev):
            for view in views(frame):
                h = run(prog, view)
                assert h == ref.cluster_hash(ctype, *view), (name, view)
                for n in MEMBERS:
                    assert h % n == ref.member(ctype, view[0], n, view[1])


def test_fixture_golden_hashes(program):
    """Every fixture frame's hash per type (forward frame, as received)."""
    lines = [f"{'# frame / type':28}" + "".join(f" {t:>8}" for t in TYPES)]
    for name, fwd, _ in fixture():
        hashes = [run(program(t), ref.received(fwd)) for t in TYPES]
        lines.append(f"{name:28}" + "".join(f" {h:08x}" for h in hashes))
    text = "\n".join(lines) + "\n"
    path = DATA / "hashes.txt"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("ctype", TYPES)
def test_both_directions_pick_one_member(program, ctype):
    """Forward and reverse, each received or transmitted: one value."""
    prog = program(ctype)
    flows = fixture() + frames.random_flows(ctype, 300)
    for name, fwd, rev in flows:
        hashes = {run(prog, view) for frame in (fwd, rev) for view in views(frame)}
        assert len(hashes) == 1, (name, hashes)


@pytest.mark.parametrize("ctype", TYPES)
def test_random_flows_match_reference(program, ctype):
    prog = program(ctype)
    for name, fwd, rev in frames.random_flows(1000 + ctype, 300):
        for frame in (fwd, rev):
            view = ref.received(frame)
            assert run(prog, view) == ref.cluster_hash(ctype, *view), name


# --- what each type hashes ---------------------------------------------------

def hashes(program, name):
    flows = {n: fwd for n, fwd, _ in fixture()}
    return {t: run(program(t), ref.received(flows[name])) for t in TYPES}


def test_fragments_of_a_datagram_stay_together(program):
    for ctype in TYPES:
        v4 = {run(program(ctype), ref.received(f)) for name, f, _ in fixture()
              if name.startswith("ipv4-frag-")}
        v6 = {run(program(ctype), ref.received(f)) for name, f, _ in fixture()
              if name.startswith("ipv6-frag-")}
        assert len(v4) == 1 and len(v6) == 1, ctype


def test_non_ip_is_member_zero_except_ip_5_tuple_types(program):
    for name in ("arp", "vlan-arp", "lldp"):
        h = hashes(program, name)
        assert all(h[t] == 0 for t in TYPES if t not in (11, 12)), name
        assert h[11] == h[12] != 0, name


def _variant(build, **changes):
    a, b = frames.A, frames.B
    a = frames.End(**{**a.__dict__, **changes})
    return build(a, b)


def _hash(program, ctype, frame, vlan_tci=None):
    return run(program(ctype), (frame, vlan_tci))


@pytest.mark.parametrize("ctype", TYPES)
def test_field_selection(program, ctype):
    fields = INNER_OF.get(ctype, ctype)
    udp, tcp = frames.FLOWS["ipv4-udp"], frames.FLOWS["ipv4-tcp"]
    sctp = frames.FLOWS["ipv4-sctp"]
    base = _hash(program, ctype, udp(frames.A, frames.B))
    other_port = _hash(program, ctype, _variant(udp, port=1234))
    other_ip = _hash(program, ctype, _variant(udp, ip4=bytes([10, 9, 9, 9])))
    assert base != other_ip
    assert (base != other_port) == (fields not in (2, 5))
    tcp_base = _hash(program, ctype, tcp(frames.A, frames.B))
    tcp_port = _hash(program, ctype, _variant(tcp, port=1234))
    assert (tcp_base != tcp_port) == (fields != 2)
    # the protocol counts where the type has it (TCP vs SCTP, same ports)
    sctp_base = _hash(program, ctype, sctp(frames.A, frames.B))
    assert (tcp_base != sctp_base) == (fields in (0, 4, 5, 11))
    # the VLAN id counts only for cluster_per_flow, and only its 12 bits
    frame = udp(frames.A, frames.B)
    tagged = {_hash(program, ctype, frame, tci) for tci in (10, 0x200A, 0xF00A)}
    assert len(tagged) == 1
    assert (_hash(program, ctype, frame, 10) != _hash(program, ctype, frame, 11)) == (ctype == 0)


# fixture tunnels -> (inner IP version, inner protocol)
TUNNELS = {
    "gtpu-ipv4-tcp": (4, 6), "gtpu-seq-ipv6-udp": (6, 17), "gtpu-ext-ipv4-udp": (4, 17),
    "gtpu-2ext-ipv6-tcp": (6, 6), "gtpu-over-ipv6-ipv4-tcp": (4, 6), "vxlan-ipv4-tcp": (4, 6),
    "vxlan-vlan-ipv6-udp": (6, 17), "gre-ipv4-udp": (4, 17), "gre-csum-key-seq-ipv6-tcp": (6, 6),
    "gre-over-ipv6-key-ipv4-tcp": (4, 6),
}
NOT_TUNNELS = {"gtpu-echo", "vxlan-no-i-flag", "gre-v1-pptp"}


def test_every_fixture_tunnel_is_listed():
    names = {n for n in frames.FLOWS if n.startswith(("gtpu-", "vxlan-", "gre-"))}
    assert names == set(TUNNELS) | NOT_TUNNELS


@pytest.mark.parametrize("ctype", sorted(INNER_OF))
def test_inner_types_hash_the_inner_packet(program, ctype):
    """On a tunnel, an inner type gives what its per-flow type gives for the
    bare inner packet; without a tunnel, what the per-flow type gives."""
    fields = INNER_OF[ctype]
    a, b = frames.A, frames.B
    for name, fwd, _ in fixture():
        if name in TUNNELS:
            version, proto = TUNNELS[name]
            if version == 4:
                bare = frames.eth(a, b, 0x0800, frames._inner4(a, b, proto))
            else:
                bare = frames.eth(a, b, 0x86DD, frames._inner6(a, b, proto))
            want = _hash(program, fields, bare)
            assert want != _hash(program, fields, *ref.received(fwd)), name
        else:
            want = _hash(program, fields, *ref.received(fwd))
        assert _hash(program, ctype, *ref.received(fwd)) == want, name


def test_inner_types_ignore_the_outer_headers(program):
    """Real tunnels are not mirror images: VXLAN picks its source port per
    direction, GTP-U uses one TEID per direction.  The inner types still
    keep a flow together."""
    a, b = frames.A, frames.B
    inner = frames._inner4(a, b, 6)
    inner_rev = frames._inner4(b, a, 6)
    fwd_vx = frames.eth(a, b, 0x0800, frames.ipv4(a.ip4, b.ip4, 17, frames.udp(
        50001, 4789, frames.vxlan(7, frames.eth(a, b, 0x0800, inner)))))
    rev_vx = frames.eth(b, a, 0x0800, frames.ipv4(b.ip4, a.ip4, 17, frames.udp(
        61111, 4789, frames.vxlan(7, frames.eth(b, a, 0x0800, inner_rev)))))
    fwd_gtp = frames.eth(a, b, 0x0800, frames.ipv4(a.ip4, b.ip4, 17, frames.udp(
        2152, 2152, frames.gtpu(0x1001, inner))))
    rev_gtp = frames.eth(b, a, 0x0800, frames.ipv4(bytes([10, 99, 0, 1]), a.ip4, 17, frames.udp(
        2152, 2152, frames.gtpu(0x2002, inner_rev))))
    for ctype in INNER_OF:
        assert _hash(program, ctype, fwd_vx) == _hash(program, ctype, rev_vx), ctype
        assert _hash(program, ctype, fwd_gtp) == _hash(program, ctype, rev_gtp), ctype
    assert _hash(program, 4, fwd_vx) != _hash(program, 4, rev_vx)


def test_truncated_frames_end_in_member_zero_as_the_reference_says(program):
    """Loads past the end return 0 (kernel semantics); the reference agrees
    at every truncation length of every fixture frame."""
    for ctype in (0, 5, 9, 12):
        prog = program(ctype)
        for name, fwd, _ in fixture():
            data, tci = ref.received(fwd)
            for n in range(len(data)):
                cut = data[:n]
                assert run(prog, (cut, tci)) == ref.cluster_hash(ctype, cut, tci), (name, n)


@pytest.mark.parametrize("ctype", TYPES)
def test_mutated_frames_match_reference(program, ctype):
    """Fixture frames with a few bytes changed (towards values the parser
    tests) and sometimes cut short: program and reference still agree."""
    prog = program(ctype)
    rng = random.Random(ctype)
    base = frames.fixture_frames()
    interesting = [0, 0x08, 0x11, 0x2C, 0x2F, 0x30, 0x34, 0x81, 0x86, 0xFF]
    for _ in range(3000):
        frame = bytearray(rng.choice(base))
        for _ in range(rng.randrange(1, 4)):
            frame[rng.randrange(len(frame))] = rng.choice(interesting + [rng.randrange(256)])
        if rng.random() < 0.3:
            frame = frame[:rng.randrange(len(frame))]
        view = (bytes(frame), rng.choice([None, 5, 0x1005]))
        assert run(prog, view) == ref.cluster_hash(ctype, *view), view


# --- spread ------------------------------------------------------------------

SPREAD_KINDS = {
    "outer": ["ipv4-tcp", "ipv4-udp", "ipv6-tcp", "ipv6-hbh-udp", "vlan-ipv4-udp"],
    "inner": ["gtpu-ipv4-tcp", "gtpu-seq-ipv6-udp", "vxlan-ipv4-tcp", "gre-ipv4-udp",
              "gre-csum-key-seq-ipv6-tcp"],
}


@pytest.mark.parametrize("ctype", TYPES)
def test_spread_within_20_percent(program, ctype):
    prog = program(ctype)
    kinds = SPREAD_KINDS["inner" if ctype in INNER_OF else "outer"]
    values = [run(prog, ref.received(fwd))
              for _, fwd, _ in frames.random_flows(500 + ctype, 1000, kinds)]
    for n in MEMBERS:
        counts = [sum(1 for h in values if h % n == m) for m in range(n)]
        even = len(values) / n
        assert all(abs(c - even) <= 0.2 * even for c in counts), (n, counts)
