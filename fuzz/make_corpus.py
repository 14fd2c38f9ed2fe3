#!/usr/bin/env python3
"""Writes the seed corpus of each harness under fuzz/corpus/<harness>/.

Run it after changing a harness's input layout (see the harness's comment);
the files are committed.  Reproducers of findings are kept beside the seeds
as fuzz/corpus/<harness>/crash-*, written by libFuzzer, never by this
script (it leaves them alone).  Only the standard library is used.

    python3 fuzz/make_corpus.py
"""
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def write(harness, name, data):
    d = CORPUS / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(bytes(data))


# --- frames -------------------------------------------------------------------

DMAC = bytes.fromhex("020000000002")
SMAC = bytes.fromhex("020000000001")


def eth(ethertype, payload, tags=()):
    """An Ethernet frame; tags: (tpid, tci) pairs, outermost first."""
    head = DMAC + SMAC
    for tpid, tci in tags:
        head += struct.pack("!HH", tpid, tci)
    return head + struct.pack("!H", ethertype) + payload


def ipv4(proto, payload, src="10.0.0.1", dst="10.0.0.2", frag=0, options=b""):
    ihl = 5 + len(options) // 4
    total = ihl * 4 + len(payload)
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, 64, proto, 0,
                       bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))) \
        + options + payload


def ipv6(nh, payload, src=b"\xfd" + b"\x00" * 14 + b"\x01", dst=b"\xfd" + b"\x00" * 14 + b"\x02"):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + src + dst + payload


def tcp(sport=1234, dport=80, flags=0x18, payload=b"hello", doff=5, options=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, doff << 4, flags, 512, 0, 0) \
        + options + payload


def udp(sport=1234, dport=53, payload=b"query"):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def gtpu(inner, teid=0x1234):
    return struct.pack("!BBHI", 0x30, 0xFF, len(inner), teid) + inner


def vxlan(inner_frame, vni=42):
    return struct.pack("!II", 0x08000000, vni << 8) + inner_frame


def gre(proto, inner, key=None):
    flags = 0x2000 if key is not None else 0
    head = struct.pack("!HH", flags, proto)
    if key is not None:
        head += struct.pack("!I", key)
    return head + inner


def frames():
    """(name, frame) pairs: the layers pfring_parse_pkt and the cluster
    programs know, and a few that are cut or malformed."""
    v4tcp = eth(0x0800, ipv4(6, tcp()))
    inner_eth = eth(0x0800, ipv4(17, udp(), "172.16.0.1", "172.16.0.2"))
    out = [
        ("ipv4-tcp", v4tcp),
        ("ipv4-udp", eth(0x0800, ipv4(17, udp()))),
        ("ipv4-icmp", eth(0x0800, ipv4(1, b"\x08\x00\x00\x00\x00\x01\x00\x01"))),
        ("ipv4-sctp", eth(0x0800, ipv4(132, struct.pack("!HHII", 5000, 6000, 1, 0)))),
        ("ipv4-options", eth(0x0800, ipv4(6, tcp(), options=b"\x01\x01\x01\x00"))),
        ("ipv4-frag-first", eth(0x0800, ipv4(17, udp(), frag=0x2000))),
        ("ipv4-frag-later", eth(0x0800, ipv4(17, b"\x00" * 16, frag=0x0002))),
        ("ipv4-tcp-options", eth(0x0800, ipv4(6, tcp(doff=8, options=b"\x01" * 12)))),
        ("vlan-ipv4", eth(0x0800, ipv4(6, tcp()), tags=[(0x8100, 100)])),
        ("qinq-ipv4", eth(0x0800, ipv4(17, udp()), tags=[(0x88A8, 10), (0x8100, 20)])),
        ("vlan-4-tags", eth(0x0800, ipv4(17, udp()),
                            tags=[(0x8100, 1), (0x8100, 2), (0x9100, 3), (0x8100, 4)])),
        ("mpls-ipv4", eth(0x8847, struct.pack("!I", (100 << 12) | 0x100 | 64) + ipv4(6, tcp()))),
        ("ipv6-tcp", eth(0x86DD, ipv6(6, tcp()))),
        ("ipv6-udp", eth(0x86DD, ipv6(17, udp()))),
        ("ipv6-hbh-udp", eth(0x86DD, ipv6(0, bytes([17, 0, 1, 4, 0, 0, 0, 0]) + udp()))),
        ("ipv6-frag", eth(0x86DD, ipv6(44, bytes([17, 0, 0, 1, 0, 0, 0, 7]) + udp()))),
        ("ipv6-icmp", eth(0x86DD, ipv6(58, b"\x80\x00\x00\x00\x00\x01\x00\x01"))),
        ("gtpu-ipv4", eth(0x0800, ipv4(17, udp(2152, 2152, gtpu(ipv4(6, tcp(), "192.168.0.1",
                                                                      "192.168.0.2")))))),
        ("gtpc-v2", eth(0x0800, ipv4(17, udp(2123, 2123, struct.pack("!BBHI", 0x48, 32, 8, 7)
                                             + b"\x00" * 4)))),
        ("vxlan-ipv4", eth(0x0800, ipv4(17, udp(40000, 4789, vxlan(inner_eth))))),
        ("gre-ipv4", eth(0x0800, ipv4(47, gre(0x0800, ipv4(6, tcp(), "10.9.0.1", "10.9.0.2"),
                                              key=77)))),
        ("gre-teb", eth(0x0800, ipv4(47, gre(0x6558, eth(0x0800, ipv4(17, udp())))))),
        ("arp", eth(0x0806, bytes.fromhex("0001080006040001") + SMAC + b"\x0a\x00\x00\x01"
                    + b"\x00" * 6 + b"\x0a\x00\x00\x02")),
        ("cut-ipv4-header", v4tcp[:14 + 12]),
        ("cut-tcp-header", v4tcp[:14 + 20 + 10]),
        ("short-13", v4tcp[:13]),
        ("empty", b""),
        ("ipv4-bad-ihl", eth(0x0800, b"\x43" + ipv4(6, tcp())[1:])),
        ("ipv4-totlen-short", eth(0x0800, ipv4(6, tcp())[:2] + b"\x00\x18" + ipv4(6, tcp())[4:])),
    ]
    return out


# --- the harnesses -------------------------------------------------------------

def parse_pkt():
    # byte 0: level (bits 0-2), add_timestamp (3), add_hash (4), wire length
    # beyond caplen (5-7)
    for i, (name, frame) in enumerate(frames()):
        opts = [5 | 0x10, 4, 3 | 0x08, 2 | 0x10 | 0x20, 7 | 0x10, 0 | 0x40][i % 6]
        write("parse_pkt", name, bytes([opts]) + frame)


def device_name():
    names = ["eth0", "eth0@0", "eth0@1-3,5", "eth0.100", "eth0,eth1", "eth0;eth1",
             "eth0.10,eth1.10", "(eth0:1)", "(a.b),c", "br.lan", "any", "none", "any@1",
             "zc:eth0", "zc:eth0@2", "dna:eth1@0", "xdp:veth0@1", "zc:eth0,eth1",
             "default:eth0", "dnacl:1@0", "pcap:file", "unknown:eth0", "eth0@63",
             "eth0@64", "eth0@3-1", "eth0@", "eth0@@1", "eth0.4096", "eth0.", ".", "..",
             "a" * 15, "a" * 16, ",".join(f"e{i}" for i in range(33)), "eth0,eth0",
             "((eth0))", "eth0)", "(eth0", "eth 0", "eth/0", "eth0\x00eth1@1",
             "\x01\x02\xff", "eth0@1,2,3,4,5,6,7,8,9,10,11,12"]
    for i, n in enumerate(names):
        errlen = [255, 128, 40, 17, 1, 0][i % 6]
        write("device_name", f"name-{i:02d}", bytes([errlen]) + n.encode("latin-1"))


def config():
    # byte 0: bit 0 appends "min_num_slots = 777", bit 1 sets two variables
    files = [
        b"min_num_slots = 8192\nenable_tx_capture = 0\n",
        b"# PF_RING's modprobe form\noptions pf_ring min_num_slots=65536 transparent_mode=2\n"
        b"options e1000e InterruptThrottleRate=1\n",
        b"options pf_ring enable-debug=1 quick-mode=1\n",
        b'status_dir = "/run/pf_ring-test"\nzc_mode = copy\nsystem_libpcap =\n',
        b"block_timeout_ms = 0\nblock_timeout_ms = 1001\nblock_timeout_ms = 20 # comment\n",
        b"min_num_slots = 100\nmin_num_slots = -5\nmin_num_slots = 99999999999999999999\n",
        b"enable_ip_defrag = 2\nquick_mode = yes\nkeep_vlan_offload = 1\n",
        b"no_equals_here\n= 5\nunknown_param = 1\n\t  \n#only a comment\n",
        b"status_dir = " + b"d" * 300 + b"\nzc_mode = " + b"z" * 20 + b"\n",
        b"status_dir = ''\nstatus_dir =\n",
        b"perfect_rules_hash_size = 1\nforce_ring_lock=1\r\nenable_frag_coherence=0\r\n",
        b"min_num_slots = 4096",
        b"\n".join(b"bad%d = 1" % i for i in range(20)) + b"\n",
        b"min_num_slots = 1\x00024\nquick_mode = \xff\x01\n",
        b"",
    ]
    for i, f in enumerate(files):
        write("config", f"file-{i:02d}", bytes([i % 4]) + f)


def _records(pairs):
    out = b""
    for var, value in pairs:
        out += bytes([var, len(value)]) + value
    return out


def pcap_env():
    # byte 0: options (fuzz_pcap_env.c); then (variable, length, value) records,
    # the variable an index into the harness's vars[]
    cases = [
        (0x02 | 0x10, []),
        (0x03 | 0x08, [(10, b"12"), (12, b"")]),
        (0x07 | 0x10, [(10, b"254"), (16, b""), (13, b"")]),
        (0x02, [(10, b"255"), (11, b"collector")]),
        (0x06, [(10, b"0"), (11, b"a" * 33)]),
        (0x02 | 0x20, [(10, b"abc"), (11, b"")]),
        (0x42, [(1, b"1"), (8, b"1"), (9, b"2"), (7, b"")]),
        (0x82, [(2, b""), (4, b""), (5, b""), (6, b"")]),
        (0xC3, [(0, b""), (1, b"fast"), (8, b"1.5")]),
        (0x01 | 0x18, [(10, b"-4"), (17, b""), (26, b""), (27, b"7")]),
        (0x22, [(10, b"9" * 30), (20, b"")]),
        (0x02, [(3, b""), (10, b"7"), (25, b"")]),
        (0x02 | 0x20, [(1, b"x\ny"), (11, b"tab\tname")]),
    ]
    for i, (opts, pairs) in enumerate(cases):
        write("pcap_env", f"env-{i:02d}", bytes([opts]) + _records(pairs))


def cluster():
    # byte 0: the cluster type (mod 16), then a frame
    for i, (name, frame) in enumerate(frames()):
        for t in (i % 16, (i + 5) % 16):
            write("cluster", f"type{t:02d}-{name}", bytes([t]) + frame)


# fuzz_filter.c's opcode table, by name
OP = {name: i for i, name in enumerate(
    "ld ldh ldb ldind ldhind ldbind ldimm ldlen ldmem ldximm ldxlen ldxmem ldxmsh st stx tax txa "
    "add sub mul div mod or and xor lsh rsh neg addx subx mulx divx modx andx rshx xorx ja jeq "
    "jgt jge jset jeqx jgtx ret reta".split())}


def insn(op, k=0, jt=0, jf=0, sel=1):
    """One user instruction as fuzz_filter.c reads it: opcode index, jt, jf,
    sel, k.  sel: bits 0-1 zero make an absolute load ancillary (bits 2-7
    pick which); on the last instruction bit 0 makes it "ret a", else
    "ret #k".  The default 1 keeps loads plain."""
    return struct.pack("!BBBBI", OP[op], jt, jf, sel, k)


# "ip and tcp dst port 80", as tcpdump compiles it, in the harness's terms
TCP80 = [insn("ldh", 12), insn("jeq", 0x800, 0, 5), insn("ldb", 23), insn("jeq", 6, 0, 3),
         insn("ldh", 36), insn("jeq", 80, 0, 1), insn("ret", 0xFFFF, sel=0), insn("ret", 0, sel=0)]
VLANP = [insn("ld", 0, sel=(6 << 2)), insn("jeq", 1, 0, 1), insn("ret", 100, sel=0),
         insn("ret", 0, sel=0)]
MEM = [insn("ldlen"), insn("st", 3), insn("ldxmem", 3), insn("txa"), insn("rsh", 1),
       insn("reta", sel=1)]


def filter_case(frame, direction=0, loopback=0, rehash=0, any_channel=1, user=None,
                drop_all=0, snap0=0, vlan_mode=0, long_list=0, vid=0, mask=0, queues=0,
                n_if=0, first=1, step=1, snaplen=1536, pkttype=0, which=1, hatype_lo=0,
                meta_vlan=0, tci=0, queue=0):
    f0 = (direction | loopback << 2 | rehash << 3 | any_channel << 4 | (user is not None) << 5
          | drop_all << 6 | snap0 << 7)
    f1 = vlan_mode | long_list << 2 | drop_all << 7
    out = struct.pack("!BBHQBHIB", f0, f1, vid, mask, queues, n_if, first, step)
    if not snap0:
        out += struct.pack("!I", snaplen)
    if user is not None:
        out += bytes([len(user) - 1]) + struct.pack("!II", 0, 0) + b"".join(user)
    out += struct.pack("!BBBHH", pkttype, which, hatype_lo | meta_vlan << 1, tci, queue)
    return out + frame


def filter_():
    fr = dict(frames())
    tagged = fr["vlan-ipv4"]
    cases = [
        ("plain", filter_case(fr["ipv4-tcp"])),
        ("rx-only-outgoing", filter_case(fr["ipv4-tcp"], direction=1, pkttype=4)),
        ("tx-only-host", filter_case(fr["ipv4-udp"], direction=2, pkttype=0)),
        ("loopback-tx", filter_case(fr["ipv4-udp"], loopback=1, pkttype=4, hatype_lo=1)),
        ("ifindex-3", filter_case(fr["ipv4-tcp"], n_if=3, first=2, step=2, which=2)),
        ("ifindex-300", filter_case(fr["ipv4-tcp"], n_if=299, first=1, step=1, which=7)),
        ("ifindex-4100", filter_case(fr["arp"], long_list=1, n_if=4100, first=1, step=1)),
        ("vlan-100-meta", filter_case(fr["ipv4-tcp"], vlan_mode=2, vid=99, meta_vlan=1,
                                      tci=100)),
        ("vlan-100-data", filter_case(tagged, vlan_mode=2, vid=99, pkttype=4)),
        ("no-vlan-tagged", filter_case(tagged, vlan_mode=1)),
        ("no-vlan-short", filter_case(b"\x00" * 10, vlan_mode=1)),
        ("channels-rx", filter_case(fr["ipv4-tcp"], any_channel=0, mask=0b1010, queue=2)),
        ("channels-tx", filter_case(fr["ipv4-tcp"], any_channel=0, mask=0b1010, queue=3,
                                    pkttype=4)),
        ("channels-queue-70", filter_case(fr["ipv4-tcp"], any_channel=0, mask=(1 << 64) - 2,
                                          queue=70)),
        ("rehash-4", filter_case(fr["ipv4-tcp"], rehash=1, any_channel=0, mask=0b0101,
                                 queues=4)),
        ("rehash-all", filter_case(fr["ipv6-udp"], rehash=1, any_channel=0, mask=0b11, queues=2)),
        ("rehash-none", filter_case(fr["ipv6-udp"], rehash=1, any_channel=0, mask=0b1100,
                                    queues=2)),
        ("rehash-short", filter_case(fr["cut-ipv4-header"], rehash=1, any_channel=0, mask=1,
                                     queues=3)),
        ("rehash-gtpu", filter_case(fr["gtpu-ipv4"], rehash=1, any_channel=0, mask=0b110,
                                    queues=3, direction=1)),
        ("user-tcp80", filter_case(fr["ipv4-tcp"], user=TCP80)),
        ("user-tcp80-other", filter_case(eth(0x0800, ipv4(6, tcp(dport=443))), user=TCP80,
                                         direction=1, n_if=2)),
        ("user-vlanp", filter_case(fr["ipv4-udp"], user=VLANP, meta_vlan=1, tci=5,
                                   vlan_mode=2, vid=4)),
        ("user-mem", filter_case(fr["ipv6-tcp"], user=MEM, rehash=1, any_channel=0, mask=1,
                                 queues=2)),
        ("user-every-check", filter_case(tagged, user=TCP80, direction=2, loopback=1, n_if=5,
                                         vlan_mode=2, vid=99, any_channel=0, mask=1,
                                         pkttype=4, queue=0)),
        ("drop-all", filter_case(fr["ipv4-tcp"], drop_all=1, user=TCP80)),
        ("snaplen-default", filter_case(fr["ipv4-tcp"], snap0=1)),
        ("empty-frame", filter_case(b"", vlan_mode=2, vid=1)),
    ]
    for name, data in cases:
        write("filter", name, data)


# --- rules: a target byte, the error buffer's size, then the struct (little
# endian, packed, as pfring.h lays it out) or the classic program (big
# endian, as the harness takes it) ------------------------------------------

def rules():
    def wild(rule_id=1, action=0, proto=0, dport=(0, 0), shost=0, mask=0, pattern=b"",
             tunnel=None, name=b""):
        core = struct.pack("<i6s6sHHB", 0, b"", b"", 0, 0, proto)
        core += struct.pack("<I12x", shost) + struct.pack("<16x")      # shost, dhost
        core += struct.pack("<I12x", mask) + struct.pack("<16x")       # their masks
        core += struct.pack("<HHHHB", 0, 0, dport[0], dport[1], 0)
        ext = struct.pack("<HI64x", 1 if tunnel is not None else 0, tunnel or 0)
        ext += pattern.ljust(32, b"\0")
        return (struct.pack("<HiBBBB", rule_id, action, 0, 0, 0, 0) + core + ext +
                name.ljust(8, b"\0") + bytes(16))

    def hash_rule(action=0, a=0x0A000001, b=0x0A000002, pa=1000, pb=2000, version=4):
        return (struct.pack("<HHBB", 1, 0, version, 17) + struct.pack("<I12x", a) +
                struct.pack("<I12x", b) + struct.pack("<HHi", pa, pb, action) + bytes(8 + 16))

    def classic(*insns):
        return bytes([len(insns)]) + b"".join(struct.pack("!HBBI", *i) for i in insns)

    cases = [
        ("wild-zero", [0, 200] + list(wild(rule_id=0))),
        ("wild-udp-dport", [0, 200] + list(wild(proto=17, dport=(53, 53)))),
        ("wild-host-mask", [0, 64] + list(wild(shost=0x0A010000, mask=0xFFFF0000))),
        ("wild-reflect", [0, 200] + list(wild(action=5, name=b"rf0"))),
        ("wild-pattern-tunnel", [0, 16] + list(wild(pattern=b"GET /", tunnel=0x1234))),
        ("wild-bad-range", [0, 3] + list(wild(dport=(90, 10)))),
        ("hash-v4", [1, 200] + list(hash_rule())),
        ("hash-bounce", [1, 200] + list(hash_rule(action=7))),
        ("hash-v6", [1, 100] + list(hash_rule(version=6))),
        ("classic-ret", [2, 0] + list(classic((0x06, 0, 0, 1536)))),
        ("classic-rx", [2, 0] + list(classic((0x20, 0, 0, 0xFFFFF004), (0x15, 0, 1, 4),
                                             (0x06, 0, 0, 0), (0x06, 0, 0, 128)))),
        ("classic-other", [2, 0] + list(classic((0x28, 0, 0, 12), (0x15, 0, 1, 0x800),
                                                (0x06, 0, 0, 0), (0x06, 0, 0, 128)))),
    ]
    for name, data in cases:
        write("rules", name, data)


HARNESSES = [parse_pkt, device_name, config, pcap_env, cluster, filter_, rules]

if __name__ == "__main__":
    for h in HARNESSES:
        h()
