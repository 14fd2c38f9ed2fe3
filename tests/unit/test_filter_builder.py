"""Golden tests, without root, of the ring's socket filter (kernel/filter.c)
and of BPF expressions compiled by the system libpcap (libpfring/src/bpf.c).

Each C file is built with a small harness into tmp_path.  The filter's
listings are compared with the expected instructions written here, and its
verdicts per packet come from the classic BPF interpreter
(pcap_pfring.testing.cbpf) over hand-built frames and skb metadata.  Compiled
expressions must equal what `tcpdump -ddd` prints with the same libpcap.
"""
import functools
import os
import pathlib
import shutil
import struct
import subprocess

import pytest

from pcap_pfring.testing import cbpf, cluster_ref

ROOT = pathlib.Path(__file__).resolve().parents[2]
CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
          f"-I{ROOT}/libpfring/include", f"-I{ROOT}/libpfring/src"]
HOST, BROADCAST, OTHERHOST, OUT = 0, 1, 3, 4        # PACKET_* pkttype
ETHER, LOOPBACK = 1, 772                            # ARPHRD_*
SNAP = 1536

FILTER_HARNESS = r"""
/* filter_dump [dir=N] [loop=1] [vlan=N] [mask=N] [drop=1] [snap=N] [if=A,B,...] [user=1]
 *             [rehash=QUEUES]
 * Prints the socket filter as "code jt jf k" lines, or "error RC".  With
 * user=1 the user program is read from stdin as "code jt jf k" lines; with
 * rehash the channels are the flow hash modulo QUEUES. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pfring_int.h"

static struct sock_filter user[8192];
static int ifx[8192];

static u_int32_t read_user(void)
{
  unsigned code, jt, jf, k, n = 0;
  while (n < 8192 && scanf("%u %u %u %u", &code, &jt, &jf, &k) == 4)
    user[n++] = (struct sock_filter){ code, jt, jf, k };
  return n;
}

static u_int32_t parse_ifindex(char *list)
{
  u_int32_t n = 0;
  for (char *t = strtok(list, ","); t && n < 8192; t = strtok(NULL, ","))
    ifx[n++] = atoi(t);
  return n;
}

int main(int argc, char **argv)
{
  struct pfringint_filter_spec s = { .vlan_id = RING_ANY_VLAN, .channel_mask = RING_ANY_CHANNEL };
  struct sock_fprog out;
  int i, rc;

  for (i = 1; i < argc; i++) {
    char *v = strchr(argv[i], '=');
    if (!v)
      return 2;
    *v++ = '\0';
    if (!strcmp(argv[i], "dir")) s.direction = (packet_direction)atoi(v);
    else if (!strcmp(argv[i], "loop")) s.drop_loopback_outgoing = (u_int8_t)atoi(v);
    else if (!strcmp(argv[i], "vlan")) s.vlan_id = (u_int16_t)strtoul(v, NULL, 0);
    else if (!strcmp(argv[i], "mask")) s.channel_mask = strtoull(v, NULL, 0);
    else if (!strcmp(argv[i], "drop")) s.drop_all = (u_int8_t)atoi(v);
    else if (!strcmp(argv[i], "snap")) s.snaplen = (u_int32_t)strtoul(v, NULL, 0);
    else if (!strcmp(argv[i], "if")) { s.num_ifindex = parse_ifindex(v); s.ifindex = ifx; }
    else if (!strcmp(argv[i], "user")) { s.user_len = read_user(); s.user = user; }
    else if (!strcmp(argv[i], "rehash")) { s.rss_rehash = 1; s.num_rx_queues = (u_int32_t)atoi(v); }
    else return 2;
  }
  rc = pfringint_build_socket_filter(&s, &out);
  if (rc < 0) {
    printf("error %d\n", rc);
    return 0;
  }
  for (i = 0; i < out.len; i++)
    printf("%u %u %u %u\n", out.filter[i].code, out.filter[i].jt, out.filter[i].jf,
           out.filter[i].k);
  free(out.filter);
  return 0;
}
"""

BPF_HARNESS = r"""
/* compile_bpf EXPR SNAPLEN [THREADS]: prints the program as "code jt jf k"
 * lines, or "error RC MSG".  The system libpcap is $TEST_SYSTEM_LIBPCAP or,
 * when it is unset, the one found at run time.  With THREADS, that many threads compile EXPR 20 times
 * each at once and "same" is printed if every result equals the first. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pfring_int.h"

static struct pfringint_params params;
static const char *expr;
static u_int32_t snaplen;
static struct sock_fprog first;

const struct pfringint_params *pfringint_params(void) { return &params; }
void pfringint_log(int level, const char *fmt, ...) { (void)level; (void)fmt; }

static void *worker(void *arg)
{
  char err[PFRING_ERRBUF_SIZE];
  struct sock_fprog p;
  long bad = 0;

  for (int i = 0; i < 20; i++) {
    if (pfringint_compile_bpf(expr, 1 /* DLT_EN10MB */, snaplen, &p, err, sizeof(err)) < 0)
      return (void *)1;
    bad |= p.len != first.len || memcmp(p.filter, first.filter, p.len * sizeof(*p.filter));
    free(p.filter);
  }
  return (void *)bad;
}

int main(int argc, char **argv)
{
  const char *lib = getenv("TEST_SYSTEM_LIBPCAP");
  char err[PFRING_ERRBUF_SIZE];
  pthread_t t[16];
  int i, rc, n;
  void *bad;
  long any = 0;

  if (argc < 3)
    return 2;
  snprintf(params.system_libpcap, sizeof(params.system_libpcap), "%s", lib ? lib : "");
  expr = argv[1];
  snaplen = (u_int32_t)strtoul(argv[2], NULL, 0);
  rc = pfringint_compile_bpf(expr, 1 /* DLT_EN10MB */, snaplen, &first, err, sizeof(err));
  if (rc < 0) {
    printf("error %d %s\n", rc, err);
    return 0;
  }
  if (argc > 3) {
    n = atoi(argv[3]);
    for (i = 0; i < n && i < 16; i++)
      pthread_create(&t[i], NULL, worker, NULL);
    for (i = 0; i < n && i < 16; i++) {
      pthread_join(t[i], &bad);
      any |= (long)bad;
    }
    printf("%s\n", any ? "different" : "same");
    return 0;
  }
  for (i = 0; i < first.len; i++)
    printf("%u %u %u %u\n", first.filter[i].code, first.filter[i].jt, first.filter[i].jf,
           first.filter[i].k);
  free(first.filter);
  return 0;
}
"""


def _parse(out):
    out = out.strip()
    if out.startswith("error") or out in ("same", "different"):
        return out
    return [tuple(map(int, line.split())) for line in out.splitlines()]


def _program_text(prog):
    return "".join(f"{c} {jt} {jf} {k}\n" for c, jt, jf, k in prog)


# ---------------------------------------------------------------------------
# Harnesses

@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """build(**spec) -> the socket filter as (code, jt, jf, k) tuples, or
    "error RC".  Spec keys: direction, loopback, ifindex, vlan, channels (an
    iterable of queues; None = RING_ANY_CHANNEL), drop_all, snaplen, user,
    rehash (the device's RX queues: RSS rehash on)."""
    d = tmp_path_factory.mktemp("filter")
    (d / "filter_dump.c").write_text(FILTER_HARNESS)
    exe = d / "filter_dump"
    subprocess.run(["gcc", *CFLAGS, "-o", str(exe), str(d / "filter_dump.c"),
                    str(ROOT / "kernel/filter.c"), str(ROOT / "kernel/cluster.c")], check=True)

    def run(direction=0, loopback=0, ifindex=(), vlan=0xFFFF, channels=None, drop_all=0,
            snaplen=SNAP, user=None, rehash=None):
        mask = (1 << 64) - 1 if channels is None else sum(1 << q for q in set(channels))
        args = [f"dir={direction}", f"loop={loopback}", f"vlan={vlan}", f"mask={mask}",
                f"drop={drop_all}", f"snap={snaplen}"]
        if ifindex:
            args.append("if=" + ",".join(map(str, ifindex)))
        if rehash is not None:
            args.append(f"rehash={rehash}")
        if user is not None:
            args.append("user=1")
        res = subprocess.run([str(exe), *args], input=_program_text(user or []),
                             capture_output=True, text=True, check=True)
        return _parse(res.stdout)
    return run


@pytest.fixture(scope="module")
def compile_bpf(tmp_path_factory):
    """compile_bpf(expr, snaplen, threads=None, libpcap=None) -> the program
    or "error RC MSG"; with threads, "same" or "different"."""
    d = tmp_path_factory.mktemp("bpf")
    (d / "compile_bpf.c").write_text(BPF_HARNESS)
    exe = d / "compile_bpf"
    subprocess.run(["gcc", *CFLAGS, "-o", str(exe), str(d / "compile_bpf.c"),
                    str(ROOT / "libpfring/src/bpf.c"), str(ROOT / "libpfring/src/syspcap.c"),
                    "-ldl", "-lpthread"], check=True)

    @functools.lru_cache(maxsize=None)
    def run(expr, snaplen=SNAP, threads=None, libpcap=None):
        env = dict(os.environ)
        env.pop("TEST_SYSTEM_LIBPCAP", None)
        if libpcap:
            env["TEST_SYSTEM_LIBPCAP"] = libpcap
        args = [str(exe), expr, str(snaplen)] + ([str(threads)] if threads else [])
        res = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120,
                             check=True)
        return _parse(res.stdout)
    return run


@pytest.fixture(scope="module")
def cached_build(build):
    """build() memoised on the spec, for the verdict tables."""
    cache = {}

    def get(**spec):
        key = repr(sorted(spec.items()))
        if key not in cache:
            prog = build(**spec)
            cbpf.check(prog)
            cache[key] = prog
        return cache[key]
    return get


# ---------------------------------------------------------------------------
# Frames

def frame(ethertype=0x0800, tags=(), payload=b"", size=60):
    """An Ethernet frame; tags are (tpid, tci) pairs kept in the data."""
    out = bytes.fromhex("020000000002") + bytes.fromhex("020000000001")
    for tpid, tci in tags:
        out += struct.pack("!HH", tpid, tci)
    out += struct.pack("!H", ethertype) + payload
    return out + b"\0" * max(0, size - len(out))


def udp4(sport, dport, src="10.0.0.2", dst="10.0.0.1", tags=()):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0x4000, 64, 17, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    return frame(0x0800, tags, ip + struct.pack("!HHHH", sport, dport, 8, 0))


def tcp4(sport, dport, src="10.0.0.2", dst="10.0.0.1"):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    return frame(0x0800, (), ip + struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, 2,
                                              8192, 0, 0))


PLAIN = frame()
ARP = frame(0x0806)


# ---------------------------------------------------------------------------
# Listings

CHANNELS_0_62 = [f"jeq #{q:#x} jt 71 jf {8 + q}" for q in range(63)]
CHANNEL_PREFIX = ["ld type", "jeq #0x4 jt 2 jf 4", "ld queue", "ja 7", "ld queue",
                  "jeq #0x0 jt 7 jf 6", "sub #0x1"]

GOLDEN = {
    "plain": (dict(), ["ret #1536"]),
    "snaplen 0": (dict(snaplen=0), ["ret #262144"]),
    "rx only": (dict(direction=1), [
        "ld type", "jeq #0x4 jt 2 jf 3", "ret #0",
        "ret #1536"]),
    "tx only": (dict(direction=2), [
        "ld type", "jeq #0x4 jt 3 jf 2", "ret #0",
        "ret #1536"]),
    "loopback": (dict(loopback=1), [
        "ld type", "jeq #0x4 jt 2 jf 5", "ld hatype", "jeq #0x304 jt 4 jf 5", "ret #0",
        "ret #1536"]),
    "rx only, loopback": (dict(direction=1, loopback=1), [
        "ld type", "jeq #0x4 jt 2 jf 3", "ret #0",
        "ret #1536"]),
    "tx only, loopback": (dict(direction=2, loopback=1), [
        "ld type", "jeq #0x4 jt 3 jf 2", "ret #0",
        "ld hatype", "jeq #0x304 jt 5 jf 6", "ret #0",
        "ret #1536"]),
    "devices 3,5,9": (dict(ifindex=(3, 5, 9)), [
        "ld ifidx", "jeq #0x3 jt 5 jf 2", "jeq #0x5 jt 5 jf 3", "jeq #0x9 jt 5 jf 4",
        "ret #0",
        "ret #1536"]),
    "vlan any": (dict(vlan=0xFFFF), ["ret #1536"]),
    "vlan none": (dict(vlan=0), [
        "ld vlanp", "jeq #0x1 jt 6 jf 2", "ldh [12]", "jeq #0x8100 jt 6 jf 4",
        "jeq #0x88a8 jt 6 jf 5", "jeq #0x9100 jt 6 jf 7", "ret #0",
        "ret #1536"]),
    "vlan 100": (dict(vlan=100), [
        "ld vlanp", "jeq #0x1 jt 8 jf 2", "ldh [12]", "jeq #0x8100 jt 6 jf 4",
        "jeq #0x88a8 jt 6 jf 5", "jeq #0x9100 jt 6 jf 11", "ldh [14]", "ja 9",
        "ld vlan_tci", "and #0xfff", "jeq #0x64 jt 12 jf 11", "ret #0",
        "ret #1536"]),
    "channel 0": (dict(channels={0}), CHANNEL_PREFIX + [
        "jeq #0x0 jt 9 jf 8", "ret #0",
        "ret #1536"]),
    "channels 1,3": (dict(channels={1, 3}), CHANNEL_PREFIX + [
        "jeq #0x1 jt 10 jf 8", "jeq #0x3 jt 10 jf 9", "ret #0",
        "ret #1536"]),
    "channels 0-62": (dict(channels=range(63)), CHANNEL_PREFIX + CHANNELS_0_62 + [
        "ret #0",
        "ret #1536"]),
    "channels 0-63 (= any)": (dict(channels=range(64)), ["ret #1536"]),
    "no channel": (dict(channels=()), CHANNEL_PREFIX + ["ret #0", "ret #1536"]),
    "drop all": (dict(drop_all=1, direction=1, vlan=5, channels={1}, ifindex=(4,)),
                 ["ret #0"]),
    "everything": (dict(direction=1, loopback=1, ifindex=(2, 7), vlan=10, channels={3}), [
        "ld type", "jeq #0x4 jt 2 jf 3", "ret #0",
        "ld ifidx", "jeq #0x2 jt 7 jf 5", "jeq #0x7 jt 7 jf 6", "ret #0",
        "ld vlanp", "jeq #0x1 jt 15 jf 9", "ldh [12]", "jeq #0x8100 jt 13 jf 11",
        "jeq #0x88a8 jt 13 jf 12", "jeq #0x9100 jt 13 jf 18", "ldh [14]", "ja 16",
        "ld vlan_tci", "and #0xfff", "jeq #0xa jt 19 jf 18", "ret #0",
        "ld type", "jeq #0x4 jt 21 jf 23", "ld queue", "ja 26", "ld queue",
        "jeq #0x0 jt 26 jf 25", "sub #0x1", "jeq #0x3 jt 28 jf 27", "ret #0",
        "ret #1536"]),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_listing(build, name):
    spec, expected = GOLDEN[name]
    prog = build(**spec)
    cbpf.check(prog)
    assert cbpf.disasm(prog) == expected


# ---------------------------------------------------------------------------
# Verdicts: (spec, metadata, frame, kept)

def _tag(vid, tpid=0x8100):
    return ((tpid, vid),)


VERDICTS = [
    # direction
    (dict(direction=1), dict(pkttype=HOST), PLAIN, True),
    (dict(direction=1), dict(pkttype=BROADCAST), PLAIN, True),
    (dict(direction=1), dict(pkttype=OTHERHOST), PLAIN, True),
    (dict(direction=1), dict(pkttype=OUT), PLAIN, False),
    (dict(direction=2), dict(pkttype=OUT), PLAIN, True),
    (dict(direction=2), dict(pkttype=HOST), PLAIN, False),
    (dict(direction=2), dict(pkttype=BROADCAST), PLAIN, False),
    (dict(direction=0), dict(pkttype=OUT), PLAIN, True),
    (dict(direction=0), dict(pkttype=HOST), PLAIN, True),
    # loopback duplicates
    (dict(loopback=1), dict(pkttype=OUT, hatype=LOOPBACK), PLAIN, False),
    (dict(loopback=1), dict(pkttype=HOST, hatype=LOOPBACK), PLAIN, True),
    (dict(loopback=1), dict(pkttype=OUT, hatype=ETHER), PLAIN, True),
    (dict(loopback=1), dict(pkttype=HOST, hatype=ETHER), PLAIN, True),
    (dict(loopback=1, direction=1), dict(pkttype=OUT, hatype=LOOPBACK), PLAIN, False),
    (dict(loopback=1, direction=1), dict(pkttype=HOST, hatype=LOOPBACK), PLAIN, True),
    (dict(loopback=1, direction=2), dict(pkttype=OUT, hatype=LOOPBACK), PLAIN, False),
    (dict(loopback=1, direction=2), dict(pkttype=OUT, hatype=ETHER), PLAIN, True),
    (dict(loopback=1, direction=2), dict(pkttype=HOST, hatype=ETHER), PLAIN, False),
    # devices
    (dict(ifindex=(3, 5, 9)), dict(ifindex=3), PLAIN, True),
    (dict(ifindex=(3, 5, 9)), dict(ifindex=5), PLAIN, True),
    (dict(ifindex=(3, 5, 9)), dict(ifindex=9), PLAIN, True),
    (dict(ifindex=(3, 5, 9)), dict(ifindex=4), PLAIN, False),
    (dict(ifindex=(3, 5, 9)), dict(ifindex=1), PLAIN, False),
    # VLAN 100: the outer tag, from metadata first, else from the data
    (dict(vlan=100), dict(vlan_tci=100), PLAIN, True),
    (dict(vlan=100), dict(vlan_tci=0xA064), PLAIN, True),           # PCP 5
    (dict(vlan=100), dict(vlan_tci=0x1064), PLAIN, True),           # DEI
    (dict(vlan=100), dict(vlan_tci=100, vlan_tpid=0x88A8), PLAIN, True),
    (dict(vlan=100), dict(vlan_tci=101), PLAIN, False),
    (dict(vlan=100), dict(vlan_tci=0), PLAIN, False),               # priority tag
    (dict(vlan=100), dict(), frame(tags=_tag(100)), True),          # transmitted, in data
    (dict(vlan=100), dict(), frame(tags=_tag(0x2064)), True),
    (dict(vlan=100), dict(), frame(tags=_tag(100, 0x88A8)), True),
    (dict(vlan=100), dict(), frame(tags=_tag(100, 0x9100)), True),
    (dict(vlan=100), dict(), frame(tags=_tag(7)), False),
    (dict(vlan=100), dict(), PLAIN, False),                         # untagged
    (dict(vlan=100), dict(), ARP, False),
    (dict(vlan=100), dict(vlan_tci=100), frame(tags=_tag(7)), True),    # QinQ: outer 100
    (dict(vlan=100), dict(vlan_tci=7), frame(tags=_tag(100)), False),   # QinQ: outer 7
    (dict(vlan=100), dict(), frame(tags=((0x88A8, 100), (0x8100, 7))), True),
    (dict(vlan=100), dict(), frame()[:13], False),                  # runt
    # untagged only
    (dict(vlan=0), dict(), PLAIN, True),
    (dict(vlan=0), dict(), ARP, True),
    (dict(vlan=0), dict(vlan_tci=5), PLAIN, False),
    (dict(vlan=0), dict(vlan_tci=0), PLAIN, False),                 # priority tag present
    (dict(vlan=0), dict(), frame(tags=_tag(5)), False),
    (dict(vlan=0), dict(), frame(tags=_tag(5, 0x88A8)), False),
    (dict(vlan=0), dict(), frame(tags=_tag(0)), False),
    # any VLAN
    (dict(vlan=0xFFFF), dict(vlan_tci=5), PLAIN, True),
    (dict(vlan=0xFFFF), dict(), frame(tags=_tag(5)), True),
    (dict(vlan=0xFFFF), dict(), PLAIN, True),
    # channel 0: RX queue q is q + 1 in skb metadata, 0 when unrecorded
    (dict(channels={0}), dict(queue=1), PLAIN, True),
    (dict(channels={0}), dict(queue=0), PLAIN, True),
    (dict(channels={0}), dict(queue=2), PLAIN, False),
    (dict(channels={0}), dict(queue=0, pkttype=OUT), PLAIN, True),  # TX queue 0, as is
    (dict(channels={0}), dict(queue=1, pkttype=OUT), PLAIN, False),
    # channels 1 and 3
    (dict(channels={1, 3}), dict(queue=2), PLAIN, True),
    (dict(channels={1, 3}), dict(queue=4), PLAIN, True),
    (dict(channels={1, 3}), dict(queue=3), PLAIN, False),
    (dict(channels={1, 3}), dict(queue=1), PLAIN, False),
    (dict(channels={1, 3}), dict(queue=0), PLAIN, False),
    (dict(channels={1, 3}), dict(queue=1, pkttype=OUT), PLAIN, True),
    (dict(channels={1, 3}), dict(queue=3, pkttype=OUT), PLAIN, True),
    (dict(channels={1, 3}), dict(queue=2, pkttype=OUT), PLAIN, False),
    (dict(channels={1, 3}), dict(queue=4, pkttype=OUT), PLAIN, False),
    (dict(channels={1, 3}), dict(queue=2, pkttype=BROADCAST), PLAIN, True),
    # channel 63 and the queues past the mask
    (dict(channels={63}), dict(queue=64), PLAIN, True),
    (dict(channels={63}), dict(queue=63, pkttype=OUT), PLAIN, True),
    (dict(channels={63}), dict(queue=65), PLAIN, False),
    (dict(channels={63}), dict(queue=64, pkttype=OUT), PLAIN, False),
    (dict(channels=range(63)), dict(queue=63), PLAIN, True),
    (dict(channels=range(63)), dict(queue=64), PLAIN, False),
    (dict(channels=range(64)), dict(queue=200), PLAIN, True),       # = RING_ANY_CHANNEL
    (dict(channels=()), dict(queue=1), PLAIN, False),
    # a disabled clustered ring
    (dict(drop_all=1), dict(), PLAIN, False),
    (dict(drop_all=1, direction=2), dict(pkttype=OUT), PLAIN, False),
]


@pytest.mark.parametrize("spec, meta, pkt, kept", VERDICTS,
                         ids=[f"{i}:{s}:{m}" for i, (s, m, _, _) in enumerate(VERDICTS)])
def test_verdict(cached_build, spec, meta, pkt, kept):
    assert cbpf.run(cached_build(**spec), pkt, **meta) == (SNAP if kept else 0)


def test_all_checks_together(cached_build):
    prog = cached_build(direction=1, loopback=1, ifindex=(2, 7), vlan=10, channels={3})
    good = dict(pkttype=HOST, ifindex=7, vlan_tci=10, queue=4, hatype=LOOPBACK)
    assert cbpf.run(prog, PLAIN, **good) == SNAP
    for change in (dict(pkttype=OUT), dict(ifindex=3), dict(vlan_tci=11), dict(vlan_tci=None),
                   dict(queue=3), dict(queue=0)):
        assert cbpf.run(prog, PLAIN, **dict(good, **change)) == 0, change


def test_every_queue_of_a_mask(cached_build):
    mask = {0, 5, 17, 31, 32, 40, 62}
    prog = cached_build(channels=mask)
    for q in range(70):
        assert cbpf.run(prog, PLAIN, queue=q + 1) == (SNAP if q in mask else 0), q
        assert cbpf.run(prog, PLAIN, queue=q, pkttype=OUT) == (SNAP if q in mask else 0), q


def test_device_set_longer_than_a_jump(build):
    """jt/jf are 8 bits: a set of 600 devices is cut into runs joined by JA."""
    ifindex = list(range(1000, 1600))
    prog = build(ifindex=ifindex)
    cbpf.check(prog)
    assert len(prog) == 1 + 600 + 2 + 1 + 1        # ld, jeqs, 2 ja, ret #0, ret
    assert all(jt <= 255 and jf <= 255 for _, jt, jf, _ in prog)
    for ifx in [999, 1600, 0] + ifindex[::7] + [1254, 1255, 1509, 1510, 1599]:
        assert cbpf.run(prog, PLAIN, ifindex=ifx) == (SNAP if ifx in ifindex else 0), ifx


# ---------------------------------------------------------------------------
# RSS rehash: the channel is the per_flow hash % the device's RX queues

PER_FLOW = 0


def rehash_tail_1_3(n):
    """The last 5 instructions of an n-instruction filter for queues 1 and 3
    of 4 (disasm prints absolute targets)."""
    return ["mod #0x4", f"jeq #0x1 jt {n - 1} jf {n - 3}", f"jeq #0x3 jt {n - 1} jf {n - 2}",
            "ret #0", "ret #1536"]


def rehash_flows(seed, n):
    """[(forward, reverse)]: UDP/TCP over IPv4, some VLAN tagged, both ways."""
    import random
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        b = f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        sp, dp = rng.randrange(1024, 65535), rng.randrange(1, 65535)
        if i % 3 == 0:
            out.append((tcp4(sp, dp, a, b), tcp4(dp, sp, b, a)))
        else:
            tags = _tag(1 + i % 4000) if i % 3 == 2 else ()
            out.append((udp4(sp, dp, a, b, tags), udp4(dp, sp, b, a, tags)))
    return out


def test_rehash_listing(build):
    """The per_flow hash fragment, then the queue set of the mask."""
    prog = build(channels={1, 3}, rehash=4)
    cbpf.check(prog)
    listing = cbpf.disasm(prog)
    assert listing[-5:] == rehash_tail_1_3(len(prog))
    assert "ret a" not in listing
    assert len(prog) > 100
    assert [line for line in listing if line.startswith("ret")] == [
        "ret #0", "ret #1536"]                      # the fragment never returns
    # queues past the device's are left out of the set
    assert build(channels={1, 3, 7, 60}, rehash=4) == prog


@pytest.mark.parametrize("spec, expected", [
    (dict(rehash=4), ["ret #1536"]),                                  # no @Y: unchanged
    (dict(channels=range(4), rehash=4), ["ret #1536"]),               # every queue
    (dict(channels={0, 1, 2, 3, 9}, rehash=4), ["ret #1536"]),
    (dict(channels={0}, rehash=1), ["ret #1536"]),
    (dict(channels={0}, rehash=0), ["ret #1536"]),                    # 0 queues is 1
    (dict(channels={4, 5}, rehash=4), ["ret #0", "ret #1536"]),       # no queue of the device
    (dict(channels={2}, rehash=4, drop_all=1), ["ret #0"]),
])
def test_rehash_listing_without_a_hash(build, spec, expected):
    assert cbpf.disasm(build(**spec)) == expected


def test_rehash_after_the_other_checks(build):
    prog = build(direction=1, vlan=10, channels={2}, rehash=3)
    listing = cbpf.disasm(prog)
    assert listing[:3] == ["ld type", "jeq #0x4 jt 2 jf 3", "ret #0"]
    assert listing[3] == "ld vlanp" and listing[14] == "ret #0"      # the VLAN check
    n = len(prog)
    assert listing[-4:] == ["mod #0x3", f"jeq #0x2 jt {n - 1} jf {n - 2}", "ret #0", "ret #1536"]


def views(pkt):
    """How a ring sees a frame: received (outer tag in metadata) and sent."""
    data, tci = cluster_ref.received(pkt)
    return [(data, dict(vlan_tci=tci)), (pkt, dict(pkttype=OUT))]


@pytest.mark.parametrize("queues", [2, 3, 4, 8])
def test_rehash_rings_split_flows_whole(cached_build, queues):
    """One ring per queue: every frame, in both directions and both forms,
    reaches exactly the ring of its flow hash, whatever the RX queue."""
    rings = [cached_build(channels={q}, rehash=queues) for q in range(queues)]
    seen = [0] * queues
    for fwd, rev in rehash_flows(queues, 150):
        want = cluster_ref.cluster_hash(PER_FLOW, *cluster_ref.received(fwd)) % queues
        for pkt in (fwd, rev):
            for data, meta in views(pkt):
                for rxq in (0, 1, 5):
                    kept = [q for q, r in enumerate(rings)
                            if cbpf.run(r, data, queue=rxq, **meta) == SNAP]
                    assert kept == [want], (pkt.hex(), meta, rxq)
        seen[want] += 1
    assert all(seen), seen


def test_rehash_vlan_and_non_ip(cached_build):
    """The VLAN id is in the hash (per_flow); non-IP frames hash to 0."""
    a, b = udp4(5000, 53, tags=_tag(100)), udp4(5000, 53, tags=_tag(101))
    (data_a, tci_a), (data_b, tci_b) = cluster_ref.received(a), cluster_ref.received(b)
    ha = cluster_ref.cluster_hash(PER_FLOW, data_a, tci_a) % 4
    hb = cluster_ref.cluster_hash(PER_FLOW, data_b, tci_b) % 4
    assert ha != hb
    for q in range(4):
        prog = cached_build(channels={q}, rehash=4)
        assert cbpf.run(prog, data_a, vlan_tci=tci_a) == (SNAP if ha == q else 0)
        assert cbpf.run(prog, data_b, vlan_tci=tci_b) == (SNAP if hb == q else 0)
        assert cbpf.run(prog, ARP) == (SNAP if q == 0 else 0)
        assert cbpf.run(prog, ARP, pkttype=OUT) == (SNAP if q == 0 else 0)


def test_rehash_drops_a_cut_frame(cached_build):
    """A frame cut inside the headers the hash reads: no queue ring gets it
    (the load past its end ends the filter with 0)."""
    cut = udp4(5000, 53)[:30]
    for q in range(4):
        assert cbpf.run(cached_build(channels={q}, rehash=4), cut) == 0


def test_rehash_then_the_user_program(build):
    user = user_program(bytes(99))
    prog = build(channels={1}, rehash=2, user=user)
    cbpf.check(prog)
    assert prog[-300:] == user
    pkt = frame(size=120)                           # IPv4 ethertype, zero addresses
    h = cluster_ref.cluster_hash(PER_FLOW, pkt) % 2
    assert cbpf.run(prog, pkt) == (777 if h == 1 else 0)
    assert cbpf.run(build(channels={0}, rehash=2, user=user), pkt) == (777 if h == 0 else 0)


# ---------------------------------------------------------------------------
# The user's program

def user_program(pattern):
    """300 instructions: compare 99 payload bytes with pattern (jt/jf), then
    jump (JA) over a `ret #0` to `ret #777`."""
    prog = []
    for i, byte in enumerate(pattern[:99]):
        prog += [(0x30, 0, 0, 14 + i),                 # ldb [14+i]
                 (0x15, 1, 0, byte),                   # jeq #byte jt next block
                 (0x06, 0, 0, 0)]                      # ret #0
    prog += [(0x05, 0, 0, 1), (0x06, 0, 0, 0), (0x06, 0, 0, 777)]
    assert len(prog) == 300
    return prog


def test_user_program_is_appended_unchanged(build):
    pattern = bytes(range(1, 100))
    user = user_program(pattern)
    prog = build(direction=1, vlan=0, user=user)
    cbpf.check(prog)
    listing = cbpf.disasm(prog)
    assert listing[:10] == [
        "ld type", "jeq #0x4 jt 2 jf 3", "ret #0",
        "ld vlanp", "jeq #0x1 jt 9 jf 5", "ldh [12]", "jeq #0x8100 jt 9 jf 7",
        "jeq #0x88a8 jt 9 jf 8", "jeq #0x9100 jt 9 jf 10", "ret #0"]
    assert listing[10:12] == ["ld #0x0", "ldx #0x0"]        # A and X as the program alone has
    assert listing[12:15] == ["ldb [14]", "jeq #0x1 jt 15 jf 14", "ret #0"]
    assert listing[-3:] == ["ja 311", "ret #0", "ret #777"]
    assert prog[12:] == user
    pkt = frame(payload=pattern, size=0)
    assert cbpf.run(user, pkt) == 777
    assert cbpf.run(prog, pkt) == 777
    assert cbpf.run(prog, pkt, pkttype=OUT) == 0                  # the prefix drops
    assert cbpf.run(prog, pkt, vlan_tci=3) == 0
    for i in (0, 50, 98):                                         # the user's jumps drop
        bad = bytearray(pkt)
        bad[14 + i] ^= 0xFF
        assert cbpf.run(prog, bytes(bad)) == 0


def test_user_program_starts_with_a_and_x_zero_behind_the_checks(build):
    # what the kernel (and libpcap) give a program alone: A = X = 0 on entry
    ret_a = [(0x16, 0, 0, 0)]                                     # ret a
    txa_ret = [(0x87, 0, 0, 0), (0x16, 0, 0, 0)]                  # txa; ret a
    for user in (ret_a, txa_ret):
        assert cbpf.run(user, PLAIN) == 0
        for spec in (dict(direction=1), dict(direction=1, vlan=7, ifindex=(3,)),
                     dict(channels={0}, rehash=2)):
            prog = build(**spec, user=user)
            cbpf.check(prog)
            assert cbpf.run(prog, PLAIN, vlan_tci=7, ifindex=3) == 0
    assert build(user=ret_a) == ret_a                            # no checks: unchanged


def test_user_program_with_a_prefix_of_every_check(build):
    user = user_program(bytes(99))
    prog = build(direction=1, loopback=1, ifindex=(2, 4), vlan=9, channels={1}, user=user)
    cbpf.check(prog)
    assert prog[-300:] == user
    good = dict(ifindex=4, vlan_tci=9, queue=2)
    assert cbpf.run(prog, frame(size=120), **good) == 777
    assert cbpf.run(prog, frame(size=120), **dict(good, queue=3)) == 0


def test_too_long(build):
    def user(n):
        return [(0x00, 0, 0, i) for i in range(n - 1)] + [(0x16, 0, 0, 0)]   # ld #i ...; ret a
    big = dict(direction=1, ifindex=tuple(range(1, 33)), vlan=100, channels=range(63))
    assert len(build(**big)) - 1 == 3 + 34 + 12 + 71                 # the prefix: 120
    assert build(**big, user=user(4000)) == "error -2"
    assert build(**big, user=user(4096 - 122)) != "error -2"       # + ld #0; ldx #0
    assert build(**big, user=user(4096 - 121)) == "error -2"
    prog = build(direction=1, user=user(4000))
    assert len(prog) == 4005 and cbpf.run(prog, PLAIN) == 3998
    assert len(build(direction=1, user=user(4091))) == 4096
    assert build(direction=1, user=user(4092)) == "error -2"
    assert build(user=user(4097)) == "error -2"
    assert len(build(user=user(4096))) == 4096


# ---------------------------------------------------------------------------
# BPF expressions through the system libpcap (bpf.c)

def tcpdump_program(expr, snaplen):
    if not shutil.which("tcpdump"):
        pytest.skip("tcpdump is not installed (make setup installs it)")
    res = subprocess.run(["tcpdump", "-ddd", "-y", "EN10MB", "-s", str(snaplen), expr],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split("\n")
    count = int(lines[0])
    prog = [tuple(map(int, line.split())) for line in lines[1:count + 1]]
    assert len(prog) == count
    return prog


EXPRESSIONS = ["udp port 53", "tcp and host 10.0.0.1", "vlan 100", "ip", "arp or icmp6",
               "tcp[tcpflags] & tcp-syn != 0", "udp portrange 1000-2000 and not src net 10.0/16"]


@pytest.mark.parametrize("snaplen", [SNAP, 262144])
@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_compile_equals_tcpdump(compile_bpf, expr, snaplen):
    prog = compile_bpf(expr, snaplen)
    cbpf.check(prog)
    assert prog == tcpdump_program(expr, snaplen)


def test_compile_snaplen_0_is_the_maximum(compile_bpf):
    assert compile_bpf("udp", 0) == compile_bpf("udp", 262144)
    assert compile_bpf("udp", 0)[-2:] == [(6, 0, 0, 262144), (6, 0, 0, 0)]


def test_compile_syntax_error(compile_bpf):
    out = compile_bpf("udp prot 53")
    assert out.startswith("error -2 bad BPF filter 'udp prot 53': "), out
    assert "syntax error" in out


def test_compile_unknown_name_is_an_error(compile_bpf):
    out = compile_bpf("ether proto nosuchproto")
    assert out.startswith("error -2 bad BPF filter 'ether proto nosuchproto': "), out


def test_compile_without_libpcap(compile_bpf, tmp_path):
    missing = str(tmp_path / "no-libpcap.so")
    out = compile_bpf("udp", libpcap=missing)
    assert out.startswith("error -7 "), out
    assert missing in out and "No such file" in out


def test_compile_library_without_pcap_compile(compile_bpf):
    out = compile_bpf("udp", libpcap="libm.so.6")
    assert out.startswith("error -7 "), out
    assert "libm.so.6" in out and "pcap_open_dead" in out


def test_compile_from_threads(compile_bpf):
    assert compile_bpf("tcp and host 10.0.0.1 and port 80", threads=8) == "same"


@pytest.mark.parametrize("source, opener", [("bpf.c", "pfring_open_system_libpcap"),
                                            ("syspcap.c", "dlopen")])
def test_libpcap_is_not_linked(tmp_path, source, opener):
    """bpf.c asks the one loader (syspcap.c) for the library and calls it only
    through dlsym: no undefined pcap_* symbol in either."""
    obj = tmp_path / "x.o"
    subprocess.run(["gcc", *CFLAGS, "-fPIC", "-fvisibility=hidden", "-c", "-o", str(obj),
                    str(ROOT / "libpfring/src" / source)], check=True)
    undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True,
                               check=True).stdout.split()
    assert opener in undefined
    assert not [s for s in undefined if s.startswith("pcap_")]


COMPILED_VERDICTS = [
    ("udp port 53", udp4(40000, 53), True),
    ("udp port 53", udp4(53, 40000), True),
    ("udp port 53", udp4(40000, 54), False),
    ("udp port 53", tcp4(40000, 53), False),
    ("udp port 53", ARP, False),
    ("tcp and host 10.0.0.1", tcp4(1, 2), True),
    ("tcp and host 10.0.0.1", tcp4(1, 2, src="10.0.0.1", dst="10.0.0.9"), True),
    ("tcp and host 10.0.0.1", tcp4(1, 2, src="10.0.0.3", dst="10.0.0.9"), False),
    ("tcp and host 10.0.0.1", udp4(1, 2), False),
    ("vlan 100", frame(tags=_tag(100)), True),
    ("vlan 100", frame(tags=_tag(101)), False),
    ("vlan 100", PLAIN, False),
]


@pytest.mark.parametrize("expr, pkt, kept", COMPILED_VERDICTS)
def test_compiled_program_behind_the_prefix(compile_bpf, build, expr, pkt, kept):
    """A compiled expression appended to the prefix keeps its meaning."""
    user = compile_bpf(expr)
    prog = build(direction=1, loopback=1, ifindex=(2, 3), user=user)
    cbpf.check(prog)
    assert cbpf.run(user, pkt) == (SNAP if kept else 0)
    assert cbpf.run(prog, pkt, ifindex=3) == (SNAP if kept else 0)
    assert cbpf.run(prog, pkt, ifindex=4) == 0
    assert cbpf.run(prog, pkt, ifindex=3, pkttype=OUT) == 0


# ---------------------------------------------------------------------------
# The interpreter's kernel semantics the tests above rely on

AD = 0xFFFFF000                                     # SKF_AD_OFF as unsigned
LL, NET = 0xFFE00000, 0xFFF00000                    # SKF_LL_OFF, SKF_NET_OFF


@pytest.mark.parametrize("prog, meta, result", [
    ([(0x20, 0, 0, AD + 4), (0x16, 0, 0, 0)], dict(pkttype=3), 3),
    ([(0x30, 0, 0, AD + 8), (0x16, 0, 0, 0)], dict(ifindex=9), 9),      # any load size
    ([(0x20, 0, 0, AD + 24), (0x16, 0, 0, 0)], dict(queue=5), 5),
    ([(0x20, 0, 0, AD + 28), (0x16, 0, 0, 0)], dict(hatype=772), 772),
    ([(0x20, 0, 0, AD + 0), (0x16, 0, 0, 0)], dict(), 0x0800),
    ([(0x20, 0, 0, AD + 44), (0x16, 0, 0, 0)], dict(vlan_tci=0x2064), 0x2064),
    ([(0x20, 0, 0, AD + 48), (0x16, 0, 0, 0)], dict(vlan_tci=0), 1),
    ([(0x20, 0, 0, AD + 48), (0x16, 0, 0, 0)], dict(), 0),
    ([(0x20, 0, 0, AD + 60), (0x16, 0, 0, 0)], dict(vlan_tci=1, vlan_tpid=0x88A8), 0x88A8),
    ([(0x20, 0, 0, AD + 56), (0x20, 0, 0, AD + 56), (0x16, 0, 0, 0)], dict(random=7), 8),
    ([(0x00, 0, 0, 6), (0x01, 0, 0, 3), (0x20, 0, 0, AD + 40), (0x16, 0, 0, 0)], {}, 5),
    ([(0x28, 0, 0, LL + 12), (0x16, 0, 0, 0)], dict(), 0x0800),
    ([(0x30, 0, 0, NET + 0), (0x16, 0, 0, 0)], dict(), 0x45),
    ([(0x01, 0, 0, LL), (0x50, 0, 0, 23), (0x16, 0, 0, 0)], dict(), 17),  # ldb [x+k], k < 0
    ([(0x01, 0, 0, AD + 4), (0x50, 0, 0, 0), (0x16, 0, 0, 0)], dict(pkttype=4), 0),
    ([(0xB1, 0, 0, 14), (0x87, 0, 0, 0), (0x16, 0, 0, 0)], dict(), 20),   # ldxb 4*([14]&0xf)
    ([(0x28, 0, 0, 100), (0x06, 0, 0, 1)], dict(), 0),                   # out of bounds
    ([(0x80, 0, 0, 0), (0x16, 0, 0, 0)], dict(wirelen=1000), 1000),
    ([(0x01, 0, 0, 0), (0x00, 0, 0, 5), (0x3C, 0, 0, 0), (0x06, 0, 0, 1)], {}, 0),  # div x=0
    ([(0x01, 0, 0, 33), (0x00, 0, 0, 1), (0x6C, 0, 0, 0), (0x16, 0, 0, 0)], {}, 2),  # lsh x
    ([(0x00, 0, 0, 1), (0x84, 0, 0, 0), (0x16, 0, 0, 0)], {}, 0xFFFFFFFF),
    ([(0x00, 0, 0, 7), (0x02, 0, 0, 3), (0x00, 0, 0, 0), (0x61, 0, 0, 3), (0x87, 0, 0, 0),
      (0x16, 0, 0, 0)], {}, 7),
])
def test_interpreter(prog, meta, result):
    cbpf.check(prog)
    assert cbpf.run(prog, udp4(1, 2), **meta) == result


@pytest.mark.parametrize("prog, reason", [
    ([], "instructions"),
    ([(0x00, 0, 0, 0)], "not a return"),
    ([(0x34, 0, 0, 0), (0x06, 0, 0, 0)], "division"),
    ([(0x64, 0, 0, 32), (0x06, 0, 0, 0)], "shift"),
    ([(0x60, 0, 0, 0), (0x06, 0, 0, 0)], "before a store"),
    ([(0x02, 0, 0, 16), (0x06, 0, 0, 0)], "scratch word"),
    ([(0x15, 1, 0, 0), (0x06, 0, 0, 0)], "leaves"),
    ([(0x05, 0, 0, 1), (0x06, 0, 0, 0)], "leaves"),
    ([(0x20, 0, 0, AD + 64), (0x06, 0, 0, 0)], "ancillary"),
    ([(0x21, 0, 0, 0), (0x06, 0, 0, 0)], "not classic"),
    ([(0xB4, 0, 0, 0), (0x06, 0, 0, 0)], "not classic"),
])
def test_interpreter_load_checks(prog, reason):
    with pytest.raises(ValueError, match=reason):
        cbpf.check(prog)
