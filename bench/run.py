"""make bench: consumers side by side on the same generated traffic.

Two throwaway namespaces joined by a veth pair; pfsend in namespace b
(pinned to CPU 1) sends frames of 256 flows to namespace a, where one
consumer at a time (pinned to CPU 0) captures them:

  ceiling_*       a minimal TPACKET_V3 reader in C that only counts (bench/ceiling.c),
                  once per ring setting in use (CEILINGS): each consumer is
                  compared with the one set up as its own ring is
  pfcount         libpfring, C loop
  ring_batch      Python Ring.recv_batch(), counting len(batch) (zero copy)
  ring_loop       Python Ring.loop() with a counting callback
  tcpdump         stock tcpdump -w /dev/null on the system libpcap
  tcpdump_pfring  the same tcpdump through libpcap-pfring (pfring-run)
  pcapy_stock     pcapy-ng (built from its sdist) on the system libpcap
  pcapy_pfring    the same pcapy-ng script through libpcap-pfring
  scapy_native    scapy sniff(store=False, prn=count) on scapy's own socket
  scapy_pfring    the same unmodified script on rings (auto-activated by
                  PCAP_PF_RING_APPNAME)
  scapy_cluster2  two copies of it in one per-flow cluster (combined)

Measurements (each the median of RUNS runs, with min and max):

- max rate: the generator at full speed (64-byte frames, and 1500-byte
  frames for all but scapy): offered pps, captured pps, drop %, and the
  consumer's CPU busy %.  scapy cannot keep up with a full-speed generator,
  so the scapy consumers get SCAPY_MAX_PPS for a few seconds and are stopped
  when the generator stops: captured pps is what they processed in that window.
- fixed rate: a rate the consumer keeps up with (FIXED_PPS for all but
  scapy, SCAPY_PPS for scapy): CPU time per captured packet (all threads'
  scheduler time from just before the first frame to after the last, so
  start-up is not counted), drop %, peak RSS.
- drain: every consumer's ring is DRAIN_MIB (tcpdump -B, set_buffer_size,
  PF_RING_MIN_NUM_SLOTS for pfcount, the ceiling's block count), filled with
  DRAIN_COUNT frames while the consumer is stopped (SIGSTOP once ready);
  then SIGCONT and the time until it has counted them all: its packets per
  second on one core with no generator running, and its CPU per packet.
- system calls per captured packet: strace -c -f attached to pfcount and to
  the Ring.loop consumer after they are ready, for the traffic window only.
- targets: the ratios of the benchmark issue (bench/report.py); for each
  missed one, perf record over a fixed-rate run of the consumers it names.
- latency: one probe frame at a time (LAT_PROBES, LAT_GAP_MS apart) from
  namespace b; each consumer's delivery delay, its clock as a frame reaches
  it minus the kernel's time stamp of the frame: the C probe in immediate
  mode (bench/latency.c) on stock libpcap and through libpcap-pfring, and
  Python Ring.recv in immediate mode (set_batching(1)) and batched.

Results go to bench/RESULTS.md and bench/results.png.  BENCH_ONLY=a,b runs
some consumers, BENCH_PARTS=traffic or drain some of the tests, and either
prints the figures without rewriting the results; BENCH_PARTS=latency alone
rewrites only the latency section of RESULTS.md.  BENCH_PARTS=rules, dna
or zc run bench/rules.py, dna.py or zc.py (run_own_parts), each rewriting
only its own section.
"""
import json
import os
import platform
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from pcap_pfring.netns import VethPair
from pcap_pfring.testing.compat import route_env

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402  (bench/report.py: the arithmetic and the text)

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
MAX_COUNT = int(os.environ.get("BENCH_MAX_COUNT", "500000"))
FIXED_COUNT = int(os.environ.get("BENCH_FIXED_COUNT", "200000"))
FIXED_PPS = int(os.environ.get("BENCH_FIXED_PPS", "100000"))
SCAPY_PPS = int(os.environ.get("BENCH_SCAPY_PPS", "1000"))
# scapy's max rate: above what two copies process (about 5,000 pps here), so
# every copy is saturated, without spending CPU 1 (the generator's, and the
# second cluster copy's) on the kernel path of frames that are only dropped.
SCAPY_MAX_PPS = int(os.environ.get("BENCH_SCAPY_MAX_PPS", "8000"))
PROFILE = os.environ.get("BENCH_PROFILE", "1") != "0"
PERF_HZ = 10000
# The drain test: every consumer's ring is DRAIN_MIB, filled with
# DRAIN_COUNT 64-byte frames while the consumer is stopped.  A 60-byte frame
# takes 152 bytes of a TPACKET_V3 block, so 128 MiB hold about 882,000 of
# them in 256 KiB blocks and in 1 MiB blocks alike; 800,000 leave room for
# the blocks the 1 s retire timer hands over part-filled while the
# generator runs.
DRAIN_MIB = int(os.environ.get("BENCH_DRAIN_MIB", "128"))
DRAIN_COUNT = int(os.environ.get("BENCH_DRAIN_COUNT", "800000"))
DRAIN_SETTLE = 1.5           # after the fill: the last block's 1 s retire timer
DRAIN_TIMEOUT = 30           # for the drain itself (it takes well under a second)
SETTINGS = ("RUNS", "MAX_COUNT", "FIXED_COUNT", "FIXED_PPS", "SCAPY_PPS", "SCAPY_MAX_PPS",
            "SCAPY_SECONDS", "TCPDUMP_DRAIN", "PERF_HZ", "DRAIN_MIB", "DRAIN_COUNT",
            "LAT_PROBES", "LAT_GAP_MS")
# The latency part: probes per run, their spacing, and each run's time limit.
LAT_PROBES = int(os.environ.get("BENCH_LAT_PROBES", "400"))
LAT_GAP_MS = float(os.environ.get("BENCH_LAT_GAP_MS", "5"))
LAT_TIMEOUT = 10 + int(LAT_PROBES * LAT_GAP_MS / 1000) * 2
DATA = os.path.abspath(os.environ.get("BENCH_DATA", "bench-results.json"))  # make bench: build/
SCAPY_SECONDS = 6
TCPDUMP_DRAIN = 1.5
TIMEOUT = 120
KiB, MiB = 1024, 1024 * 1024

# The ring settings in use, as (block bytes, blocks, retire timeout ms), and
# who uses each (report.CEILING_OF compares every consumer with its own):
# - libpfring's defaults (drivers/af_packet.c): blocks of AFP_MIN_BLOCK
#   (256 KiB), the block_timeout_ms parameter (8 ms), and min_num_slots
#   (4096) slots of caplen 128 rounded up to AFP_MIN_BLOCKS (8) blocks:
#   pfcount, Ring.recv_batch, Ring.loop (and scapy on rings);
# - stock libpcap 1.10 (pcap-linux.c) without immediate mode: a block is the
#   page size doubled up to its 256 KiB frame size, the ring its 2 MiB
#   default buffer, the retire timeout the pcap timeout (1000 ms for tcpdump
#   and for the pcapy script): tcpdump, pcapy-ng on the system libpcap;
# - libpcap-pfring without immediate mode (libpcap-pfring/src/ring.c): 1 MiB
#   blocks (BATCH_BLOCK), the pcap timeout, 8 blocks (the minimum):
#   tcpdump and pcapy-ng through the drop-in.
CEILINGS = {
    report.LOW_LATENCY: (256 * KiB, 8, 8),
    report.STOCK: (256 * KiB, 8, 1000),
    report.BATCHED: (1 * MiB, 8, 1000),
}

# The Python consumers take DEV [COUNT BUFFER_BYTES]: the drain test gives
# them a ring of BUFFER_BYTES and they stop once they counted COUNT packets
# (0: until SIGINT).
RING_BATCH = """
import signal, sys, pcap_pfring as p
signal.signal(signal.SIGINT, signal.default_int_handler)
want, size = (int(a) for a in (sys.argv[2:] or ["0", "0"]))
r = p.Ring(sys.argv[1], caplen=128)
if size:
    r.set_buffer_size(size)
r.enable()
r.set_direction(p.Direction.RX_ONLY)
print("ready", flush=True)
n = 0
try:
    while not want or n < want:
        n += len(r.recv_batch(1024, timeout=0.1))
except KeyboardInterrupt:
    pass
print(n, flush=True)
"""

RING_LOOP = """
import signal, sys, pcap_pfring as p
signal.signal(signal.SIGINT, signal.default_int_handler)
want, size = (int(a) for a in (sys.argv[2:] or ["0", "0"]))
r = p.Ring(sys.argv[1], caplen=128)
if size:
    r.set_buffer_size(size)
r.enable()
r.set_direction(p.Direction.RX_ONLY)
print("ready", flush=True)
count = [0]
def cb(h, v):
    count[0] += 1
try:
    r.loop(cb, want or -1)
except KeyboardInterrupt:
    pass
print(count[0], flush=True)
"""

# pcapy-ng in its event-loop form (select on getfd(), then a non-blocking
# dispatch): a blocking dispatch sits in libpcap's poll(), which restarts
# after a signal, so SIGINT would never stop it once the traffic is over.
PCAPY = """
import select, signal, sys, pcapy
signal.signal(signal.SIGINT, signal.default_int_handler)
want, size = (int(a) for a in (sys.argv[2:] or ["0", "0"]))
if size:
    p = pcapy.create(sys.argv[1])
    p.set_snaplen(128)
    p.set_timeout(1000)
    p.set_buffer_size(size)
    p.activate()
else:
    p = pcapy.open_live(sys.argv[1], 128, 0, 1000)
p.setnonblock(1)
fd = p.getfd()
print("ready", flush=True)
count = [0]
def cb(h, d):
    count[0] += 1
try:
    while not want or count[0] < want:
        select.select([fd], [], [], 0.1)
        p.dispatch(-1, cb)
except KeyboardInterrupt:
    pass
print(count[0], flush=True)
"""

# An unmodified scapy script: nothing here knows about rings.  (Every
# script makes SIGINT raise KeyboardInterrupt even when started from a shell
# that ignores it, since the harness stops consumers with SIGINT.)
SCAPY = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from scapy.all import conf, sniff
count = [0]
def prn(pkt):
    count[0] += 1
try:
    sniff(iface=sys.argv[1], store=False, prn=prn,
          started_callback=lambda: print("ready", conf.L2listen.__module__, flush=True))
except KeyboardInterrupt:
    pass
print(count[0], flush=True)
"""


def _default_sigint():
    """In the child before exec: SIGINT back to its default action, which
    exec keeps (a harness started in the background may have it ignored,
    and consumers are stopped with SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# The latency part's Python consumer: DEV COUNT TIMEOUT_S BATCHING (0: the
# default batching).  Prints "ready", then the delays in ns on one line.
RING_LATENCY = """
import sys, time, pcap_pfring as p
dev, want, timeout, batching = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
r = p.Ring(dev, caplen=128)
if batching:
    r.set_batching(batching)
r.set_bpf_filter("ether proto 0x88b5")
r.enable()
print("ready", flush=True)
delays, deadline = [], time.monotonic() + timeout
while len(delays) < want and time.monotonic() < deadline:
    got = r.recv(timeout=0.5)
    if got:
        delays.append(time.time_ns() - got[0].ts_ns)
print(*delays, flush=True)
"""

# The probes: DEV DST_MAC_HEX COUNT GAP_S, one frame of EtherType 0x88b5 at a
# time from a plain packet socket.
LAT_SENDER = """
import socket, sys, time
dev, dst, n, gap = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind((dev, 0))
src = s.getsockname()[4]
for i in range(n):
    s.send(dst + src + b"\\x88\\xb5" + i.to_bytes(4, "big") + bytes(46))
    time.sleep(gap)
"""


def _plain_env():
    """The environment without any PCAP_* variable (scapy's own sockets)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PCAP_")}


def consumers(tmp, dev):
    """name -> (argv, env, kind, copies); kind picks the rates."""
    py = sys.executable
    for name, code in (("ring_batch", RING_BATCH), ("ring_loop", RING_LOOP), ("pcapy_count", PCAPY),
                       ("scapy_count", SCAPY)):
        with open(os.path.join(tmp, f"{name}.py"), "w") as f:
            f.write(code)
    script = lambda name: [py, os.path.join(tmp, f"{name}.py"), dev]  # noqa: E731
    tcpdump = ["tcpdump", "-i", dev, "-Q", "in", "-s", "128", "-w", "/dev/null"]
    cluster = dict(route_env("stock", base=_plain_env()), PCAP_PF_RING_CLUSTER_ID="21",
                   PCAP_PF_RING_USE_CLUSTER_PER_FLOW="1")
    table = {
        name: ([os.path.join(tmp, "ceiling"), dev, str(10**12), str(TIMEOUT),
                *(str(x) for x in setting)], None, "c", 1)
        for name, setting in CEILINGS.items()}
    table.update({
        "pfcount": ([os.path.join(BIN, "pfcount"), "-i", dev, "-e", "1", "-l", "128",
                     "-d", str(TIMEOUT), "--json", "-q"], None, "c", 1),
        "ring_batch": (script("ring_batch"), None, "c", 1),
        "ring_loop": (script("ring_loop"), None, "c", 1),
        "tcpdump": (tcpdump, route_env("stock"), "c", 1),
        "tcpdump_pfring": (tcpdump, route_env("ring"), "c", 1),
        "pcapy_stock": (script("pcapy_count"), route_env("stock"), "c", 1),
        "pcapy_pfring": (script("pcapy_count"), route_env("ring"), "c", 1),
        "scapy_native": (script("scapy_count"), _plain_env(), "scapy", 1),
        "scapy_pfring": (script("scapy_count"),
                         dict(_plain_env(), PCAP_PF_RING_APPNAME="scapy-bench"), "scapy", 1),
        "scapy_cluster2": (script("scapy_count"), cluster, "scapy", 2),
    })
    if not _has_pcapy():
        print("bench: pcapy-ng is not installed; skipping the pcapy consumers", flush=True)
        del table["pcapy_stock"], table["pcapy_pfring"]
    return table


# libpfring's slot for caplen 128 (drivers/af_packet.c: caplen + the
# TPACKET_V3 header, 32 and the 4-byte reserve, to 16 bytes): pfcount has
# no buffer-size option, so its ring gets DRAIN_MIB from min_num_slots.  The
# run checks the ring's "Tot Memory" in the status tree.
SLOT_128 = 240


def drain_consumers(tmp, dev, status):
    """name -> (argv, env, stream, pattern) of the drain test: each ring is
    DRAIN_MIB with a 1 s retire timeout (the blocks are full but the last;
    a shorter timer would hand over part-filled blocks while the generator
    fills the ring), and the consumer stops at DRAIN_COUNT.  stream and
    pattern say the line it prints once it has counted them all (its first
    group: the count)."""
    size, n = DRAIN_MIB * MiB, str(DRAIN_COUNT)
    py = sys.executable
    script = lambda name: [py, os.path.join(tmp, f"{name}.py"), dev, n, str(size)]  # noqa: E731
    tcpdump = ["tcpdump", "-i", dev, "-Q", "in", "-s", "128", "-w", "/dev/null",
               "-B", str(size // KiB), "-c", n]
    ring = dict(os.environ, PF_RING_BLOCK_TIMEOUT_MS="1000", PF_RING_STATUS_DIR=status)
    done_out, done_tcpdump = r"^(\d+)( \d+ \d+)?$", r"^(\d+) packets captured"
    table = {
        name: ([os.path.join(tmp, "ceiling"), dev, n, str(TIMEOUT), str(block),
                str(size // block), "1000"], None, "out", done_out)
        for name, (block, _, _) in CEILINGS.items()}
    table.update({
        "pfcount": ([os.path.join(BIN, "pfcount"), "-i", dev, "-e", "1", "-l", "128", "-N", n,
                     "-d", str(TIMEOUT), "--json", "-q"],
                    dict(ring, PF_RING_MIN_NUM_SLOTS=str(size // SLOT_128)), "err",
                    r"^(Leaving)\.\.\."),
        "ring_batch": (script("ring_batch"), ring, "out", done_out),
        "ring_loop": (script("ring_loop"), ring, "out", done_out),
        "tcpdump": (tcpdump, route_env("stock"), "err", done_tcpdump),
        "tcpdump_pfring": (tcpdump, route_env("ring", base=ring), "err", done_tcpdump),
        "pcapy_stock": (script("pcapy_count"), route_env("stock"), "out", done_out),
        "pcapy_pfring": (script("pcapy_count"), route_env("ring", base=ring), "out", done_out),
    })
    return table


def _has_pcapy():
    return subprocess.run([sys.executable, "-c", "import pcapy"], capture_output=True).returncode == 0


def count_of(name, out, err):
    if name == "pfcount":
        return int(re.search(r'"recv": (\d+)', out).group(1))
    if name.startswith("tcpdump"):
        return int(re.search(r"(\d+) packets captured", err).group(1))
    return int(out.split()[-3 if name.startswith("ceiling") else -1])


def _reap(p, timeout):
    """Wait up to timeout for p; True if it exited (Popen.wait would lose
    nothing here: CPU is read from /proc before the signal)."""
    try:
        p.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _ready(name, p):
    """Wait for the consumer to be capturing; the line it printed."""
    if name.startswith("tcpdump"):
        line = ""
        while "listening on" not in line:
            line = p.stderr.readline()
            if not line:
                raise RuntimeError(f"{name} exited before listening")
        return line
    if name == "pfcount":
        time.sleep(1.0)               # no ready line: give it time to enable
        return ""
    line = p.stdout.readline()
    if not line.startswith("ready"):
        raise RuntimeError(f"{name}: {line!r} {p.stderr.read()}")
    return line


def generator(pair, count, pps, length):
    gen = ["taskset", "-c", "1", os.path.join(BIN, "pfsend"), "-i", pair.if_b, "-n", str(count),
           "-l", str(length), "-b", "16", "-c", "16", "-M", pair.mac_a.hex(":"), "-q", "--json"]
    if pps:
        gen += ["-p", str(pps)]
    res = pair.b.run(gen, check=True, timeout=TIMEOUT)
    sent = int(re.search(r'"sent": (\d+)', res.stdout).group(1))
    return sent, sent / float(re.search(r'"duration_s": ([\d.]+)', res.stdout).group(1))


def _start(pair, name, spec):
    """Start the consumer's copies (copy i on CPU i: a cluster's members each
    get a core, the second one sharing CPU 1 with the generator) and wait
    until each is capturing."""
    argv, env, _, copies = spec
    procs = []
    try:
        for i in range(copies):
            p = subprocess.Popen(pair.a.cmd(["taskset", "-c", str(i % 2), *argv]), env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=_default_sigint)
            procs.append(p)
            line = _ready(name, p)
            if name.startswith("scapy") and ("pcap_pfring" in line) != (name != "scapy_native"):
                raise RuntimeError(f"{name}: wrong socket: {line!r}")
    except BaseException:
        _stop(name, procs)
        raise
    return procs


def _stop(name, procs):
    """SIGINT every copy, reap it by pid (SIGKILL after 20 s); the packets
    they counted, summed."""
    for p in procs:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGINT)
    captured = 0
    try:
        for p in procs:
            if not _reap(p, 20):
                p.kill()
                p.wait()
            captured += count_of(name, p.stdout.read(), p.stderr.read())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for s in (p.stdout, p.stderr):
                s.close()
    return captured


def one_run(pair, name, spec, count, pps, length=64, drain=0.5):
    """Returns (captured, offered_pps, cpu_s, max_rss_kb).  tcpdump's libpcap
    hands a block over 1 s after its first packet (the pcap timeout of
    tcpdump and of the pcapy script, and the ceilings set up as they are),
    so they get TCPDUMP_DRAIN to read the last one."""
    if drain and slow_retire(name):
        drain = TCPDUMP_DRAIN
    procs = _start(pair, name, spec)
    try:
        cpu0 = [cpu_ns(p.pid) for p in procs]
        _, offered = generator(pair, count, pps, length)
        time.sleep(drain)                 # let the consumer drain its ring
        cpu = sum(cpu_ns(p.pid) - c for p, c in zip(procs, cpu0)) / 1e9
        rss = max(peak_rss_kb(p.pid) for p in procs)
    finally:
        captured = _stop(name, procs)
    return captured, offered, cpu, rss


def slow_retire(name):
    """True for consumers whose kernel blocks retire after 1 s, not 8 ms."""
    if name in CEILINGS:
        return CEILINGS[name][2] >= 1000
    return name.startswith(("tcpdump", "pcapy"))


def _lines(p):
    """A queue of (time, stream, line) of everything p prints, read by two
    threads, so a line's arrival time is known."""
    q = queue.Queue()

    def pump(stream, tag):
        for line in stream:
            q.put((time.monotonic(), tag, line))
        q.put((time.monotonic(), tag, None))

    for stream, tag in ((p.stdout, "out"), (p.stderr, "err")):
        threading.Thread(target=pump, args=(stream, tag), daemon=True).start()
    return q


def _wait_line(q, p, name, stream, pattern, timeout, seen):
    """The time of the first line of stream matching pattern (re), within
    timeout seconds; every line goes to seen."""
    deadline = time.monotonic() + timeout
    ended = set()
    while True:
        try:
            t, tag, line = q.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(f"{name}: no {pattern!r} within {timeout} s; said "
                               f"{''.join(x for _, x in seen)[-400:]!r}") from None
        if line is None:
            ended.add(tag)
            if tag == stream or len(ended) == 2:
                raise RuntimeError(f"{name} exited ({p.wait()}) before {pattern!r}; said "
                                   f"{''.join(x for _, x in seen)[-400:]!r}")
            continue
        seen.append((tag, line))
        if tag == stream and re.search(pattern, line):
            return t


def _stopped(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.01)
    raise RuntimeError(f"pid {pid} did not stop")


def _ring_memory(status, pid):
    """Tot Memory of pid's ring in the status tree at status (None: none)."""
    from pcap_pfring import status as tree
    for r in tree.list_rings(status):
        if r.pid == pid:
            return int(r.fields["Tot Memory"])
    return None


class DrainError(RuntimeError):
    """A drain run that did not count all it was given."""


def drain_run(pair, name, spec, status):
    """One drain: start the consumer on CPU 0, stop it (SIGSTOP) once it is
    ready, fill its ring with DRAIN_COUNT frames at the generator's full
    speed, wait for the last block's retire timer, then SIGCONT and time
    until it says it has counted them all.  Returns (captured, seconds,
    cpu_s): the consumer's CPU time over the same window (read when its
    line arrives, so a little of its exit may be in it)."""
    argv, env, stream, pattern = spec
    p = subprocess.Popen(pair.a.cmd(["taskset", "-c", "0", *argv]), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_default_sigint)
    q, seen = _lines(p), []
    try:
        if name.startswith("tcpdump"):
            _wait_line(q, p, name, "err", r"listening on", 30, seen)
        elif name == "pfcount":
            time.sleep(1.0)               # no ready line: give it time to enable
        else:
            _wait_line(q, p, name, "out", r"^ready", 30, seen)
        if env is not None and "PF_RING_STATUS_DIR" in env and not name.startswith("ceiling"):
            # the ring of the same size as the others' (and its status file
            # says so): libpfring's consumers and the drop-in
            deadline = time.monotonic() + 5
            while _ring_memory(status, p.pid) is None and time.monotonic() < deadline:
                time.sleep(0.1)
            mem = _ring_memory(status, p.pid)
            if mem != DRAIN_MIB * MiB:
                raise RuntimeError(f"{name}: ring of {mem} bytes, not {DRAIN_MIB} MiB")
        os.kill(p.pid, signal.SIGSTOP)
        _stopped(p.pid)
        generator(pair, DRAIN_COUNT, 0, 64)
        time.sleep(DRAIN_SETTLE)
        cpu0 = cpu_ns(p.pid)
        t0 = time.monotonic()
        os.kill(p.pid, signal.SIGCONT)
        try:
            t1 = _wait_line(q, p, name, stream, pattern, DRAIN_TIMEOUT, seen)
            cpu1 = cpu_ns(p.pid)
        except RuntimeError as e:
            # short of its count: what it says when stopped (tcpdump: its
            # kernel drops) goes with the error
            os.kill(p.pid, signal.SIGINT)
            _reap(p, 10)
            time.sleep(0.2)
            while not q.empty():
                seen.append(q.get()[1:])
            raise DrainError(f"{e}; at SIGINT: "
                             f"{''.join(x or '' for _, x in seen)[-300:]!r}") from None
        if not _reap(p, 30):
            raise RuntimeError(f"{name} did not exit after its count")
        for _ in range(2):                # the rest of what it printed
            while True:
                _, tag, line = q.get(timeout=10)
                if line is None:
                    break
                seen.append((tag, line))
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGCONT)
            p.kill()
            p.wait()
    out = "".join(x for tag, x in seen if tag == "out")
    err = "".join(x for tag, x in seen if tag == "err")
    captured = count_of(name, out, err)
    dropped = re.search(r"(\d+) packets dropped by kernel", err)
    if captured != DRAIN_COUNT or (dropped and int(dropped.group(1))):
        raise DrainError(f"{name}: drained {captured} of {DRAIN_COUNT} ({err[-300:]!r})")
    return captured, t1 - t0, (cpu1 - cpu0) / 1e9


def cpu_ns(pid):
    """CPU time of every thread of pid so far, in ns (schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))



def fixed_rate(kind):
    """(pps, frames) of the fixed-rate runs of a kind of consumer."""
    return (SCAPY_PPS, SCAPY_PPS * 5) if kind == "scapy" else (FIXED_PPS, FIXED_COUNT)


def _strace_table(text):
    """(total calls, [(calls, name), ...] most frequent first) of strace -c."""
    rows = [(int(m.group(1)), m.group(2)) for m in re.finditer(
        r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", text, re.M)
        if m.group(2) != "total"]
    total = re.search(r"^100\.00\s+\S+\s+\S+\s+(\d+)", text, re.M)
    return (int(total.group(1)) if total else sum(c for c, _ in rows),
            sorted(rows, reverse=True))


def syscalls_per_packet(pair, name, spec, count, tmp):
    """strace -c -f attached once the consumer is ready and detached once the
    traffic is over: the system calls of the traffic window only.
    Returns (calls, captured, calls per packet, [(calls, syscall), ...])."""
    out = os.path.join(tmp, f"strace-{name}.txt")
    procs = _start(pair, name, spec)
    st = None
    try:
        st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(procs[0].pid)],
                              stderr=subprocess.DEVNULL)
        time.sleep(1.0)                   # attached to every thread
        generator(pair, count, FIXED_PPS, 64)
        time.sleep(0.5)
        st.send_signal(signal.SIGINT)     # detach: strace writes its summary
        st.wait(30)
    finally:
        if st is not None and st.poll() is None:
            st.kill()
            st.wait()
        captured = _stop(name, procs)
    with open(out) as f:
        calls, top = _strace_table(f.read())
    return calls, captured, calls / max(captured, 1), top


def profile(pair, name, spec, tmp):
    """perf record over the traffic window of one max-rate run (the C
    consumers use little CPU at a fixed rate: too few samples): the
    consumer's own threads (perf record -p), or, for a cluster, both CPUs
    (-a) so the generator and the kernel's share show too.  The top lines
    of perf report, as text."""
    argv, env, kind, copies = spec
    pps, count = ((SCAPY_MAX_PPS, SCAPY_MAX_PPS * SCAPY_SECONDS) if kind == "scapy"
                  else (0, MAX_COUNT))
    data = os.path.join(tmp, f"perf-{name}.data")
    procs = _start(pair, name, spec)
    perf = None
    try:
        target = ["-a"] if copies > 1 else ["-p", ",".join(str(p.pid) for p in procs)]
        perf = subprocess.Popen(["perf", "record", "-q", "-F", str(PERF_HZ), "-o", data, *target],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        generator(pair, count, pps, 64)
        perf.send_signal(signal.SIGINT)
        perf.wait(60)
    finally:
        if perf is not None and perf.poll() is None:
            perf.kill()
            perf.wait()
        _stop(name, procs)
    sort = "cpu,comm,dso" if copies > 1 else "dso,sym"
    res = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-q",
                          "--percent-limit", "2", "--sort", sort],
                         capture_output=True, text=True, timeout=120)
    lines = [" ".join(ln.split()) for ln in res.stdout.splitlines() if ln.strip()]
    return lines[:8] or [f"(no samples: {res.stderr.strip()[:200]})"]


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), kernel {platform.release()}, "
            f"Python {platform.python_version()}")


SPIN = """
import time
t, n, d = time.process_time(), 0, {}
while time.process_time() - t < 2:
    for i in range(10000):
        d[i & 255] = str(i)
    n += 1
print(n)
"""


def parallel_scaling(rounds=3):
    """How much two CPU-bound Python processes, one per CPU, get done
    together against one alone (in the same CPU time): the most a 2-copy
    cluster could reach on this machine.  Alone and together alternate."""
    def spin(cpus):
        procs = [subprocess.Popen(["taskset", "-c", str(c), sys.executable, "-c", SPIN],
                                  stdout=subprocess.PIPE, text=True) for c in cpus]
        return sum(int(p.communicate(timeout=60)[0]) for p in procs)
    ratios = []
    for _ in range(rounds):
        alone = spin([0])
        ratios.append(spin([0, 1]) / max(alone, 1))
    return ratios


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def measure(pair, table):
    """rows: name -> report's row (see bench/report.py).  Runs go round robin
    over the consumers (run 1 of each, then run 2 of each, ...), so a drift
    of the machine's speed during the bench falls on every consumer alike
    instead of on whichever was measured at that time."""
    rows = {}
    plans = {}
    for name, spec in table.items():
        kind = spec[2]
        r = rows[name] = {"max": [], "fixed": []}
        r["rate"], r["fixed_count"] = fixed_rate(kind)
        if kind == "scapy":
            r["max_count"] = SCAPY_MAX_PPS * SCAPY_SECONDS
            plans[name] = [("max", (r["max_count"], SCAPY_MAX_PPS), {"drain": 0})]
        else:
            r["max_count"] = MAX_COUNT
            r["max1500"] = []
            plans[name] = [("max", (MAX_COUNT, 0), {}),
                           ("max1500", (MAX_COUNT // 5, 0, 1500), {})]
        plans[name].append(("fixed", (r["fixed_count"], r["rate"]), {}))
    for i in range(RUNS):
        for name, spec in table.items():
            for key, args, kw in plans[name]:
                rows[name][key].append(one_run(pair, name, spec, *args, **kw))
        print(f"round {i + 1} of {RUNS} done", flush=True)
    return rows


def measure_drain(pair, drains, rows, status):
    """The drain runs, round robin as measure's, into rows[name]["drain"]."""
    for name in drains:
        rows[name]["drain"], rows[name]["drain_count"] = [], DRAIN_COUNT
    for i in range(RUNS):
        for name, spec in drains.items():
            for attempt in (1, 2):        # one retry: the runs' count stays RUNS
                try:
                    rows[name]["drain"].append(drain_run(pair, name, spec, status))
                    break
                except DrainError as e:
                    print(f"bench: drain run of {name} failed (attempt {attempt}): {e}",
                          flush=True)
        print(f"drain round {i + 1} of {RUNS} done", flush=True)


def latency_consumers(tmp, dev):
    """name -> (argv, env) of the latency part (report.LATENCY_CONSUMERS)."""
    for name, code in (("ring_latency", RING_LATENCY), ("lat_sender", LAT_SENDER)):
        with open(os.path.join(tmp, f"{name}.py"), "w") as f:
            f.write(code)
    probe = [os.path.join(tmp, "latency"), dev, str(LAT_PROBES), str(LAT_TIMEOUT)]
    ring = [sys.executable, os.path.join(tmp, "ring_latency.py"), dev, str(LAT_PROBES),
            str(LAT_TIMEOUT)]
    return {
        "pcap_stock": (probe, route_env("stock")),
        "pcap_pfring": (probe, route_env("ring")),
        "ring_immediate": ([*ring, "1"], None),
        "ring_batched": ([*ring, "0"], None),
    }


def latency_run(pair, name, spec, tmp):
    """One run of the probes to one consumer: its delays in ns."""
    argv, env = spec
    p = subprocess.Popen(pair.a.cmd(["taskset", "-c", "0", *argv]), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_default_sigint)
    try:
        _ready(name, p)
        time.sleep(0.2)
        pair.b.run(["taskset", "-c", "1", sys.executable, os.path.join(tmp, "lat_sender.py"),
                    pair.if_b, pair.mac_a.hex(), str(LAT_PROBES), str(LAT_GAP_MS / 1000)],
                   timeout=LAT_TIMEOUT + 10)
        out, err = p.communicate(timeout=LAT_TIMEOUT + 10)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"{name}: exit status {p.returncode}: {err.strip()}")
    return [int(x) for x in out.split()]


NMAP_LISTENER = ("import socket, time\ns = socket.socket()\n"
                 "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                 "s.bind(('0.0.0.0', 8080)); s.listen(5); time.sleep(600)")


def nmap_os_times(pair):
    """Seconds of `nmap -O` from namespace a against a listener in b (port
    8080 open, 22 and 80 closed), RUNS times on each route, round robin:
    {"stock": [...], "ring": [...]}; {} without nmap."""
    if not shutil.which("nmap"):
        return {}
    out = {"stock": [], "ring": []}
    srv = pair.b.popen([sys.executable, "-c", NMAP_LISTENER])
    try:
        time.sleep(0.5)
        for _ in range(RUNS):
            for route in out:
                t0 = time.monotonic()
                res = pair.a.run(["nmap", "-O", "-n", "-p", "22,80,8080", pair.ip_b],
                                 env=route_env(route), check=False)
                if res.returncode == 0 and "8080/tcp open" in res.stdout:
                    out[route].append(time.monotonic() - t0)
        print(f"nmap -O: {out}", flush=True)
    finally:
        srv.kill()
        srv.wait()
    return out


def measure_latency(pair, lat, tmp):
    """RUNS rounds over the latency consumers, round robin: name -> [run, ...];
    and under "nmap_os", nmap_os_times."""
    out = {name: [] for name in lat}
    for i in range(RUNS):
        for name, spec in lat.items():
            out[name].append(latency_run(pair, name, spec, tmp))
        print(f"latency round {i + 1} of {RUNS} done", flush=True)
    out["nmap_os"] = nmap_os_times(pair)
    return out


def write_section(heading, lines):
    """Put lines into RESULTS.md in place of the section whose title starts
    with heading (before the Commands section if there is none): the parts
    that rewrite only their own section (latency, rules, dna, zc)."""
    path = os.path.join(HERE, "RESULTS.md")
    with open(path) as f:
        text = f.read()
    section = "\n".join(lines).rstrip("\n") + "\n\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        at = text.find("## Commands")
        text = text[:at] + section + text[at:] if at >= 0 else text + "\n" + section
    with open(path, "w") as f:
        f.write(text)


def facts_now(load_before):
    """What a section says of the machine and the run."""
    return {"machine": machine(), "load_before": load_before, "load_after": loadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def part_main(part, heading, body):
    """The main of a part that rewrites its own RESULTS.md section: root, the
    load average before and after, a veth pair and a scratch directory for
    ``body(pair, tmp, only)`` (only: the BENCH_ONLY names, [] for all),
    which returns ``lines(facts)``, the section's lines.  The section is
    written only for a full run."""
    if os.geteuid() != 0:
        print(f"bench {part}: needs root", file=sys.stderr)
        return 1
    load0 = loadavg()
    print(f"bench {part}: load average before {load0}", flush=True)
    tmp = tempfile.mkdtemp(prefix=f"pfring-bench-{part}-")
    pair = VethPair()
    only = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
    try:
        lines_of = body(pair, tmp, only)
    finally:
        pair.delete()
        shutil.rmtree(tmp, ignore_errors=True)
    facts = facts_now(load0)
    print(f"bench {part}: load average after {facts['load_after']}", flush=True)
    lines = lines_of(facts)
    print("\n".join(lines), flush=True)
    if not only:
        write_section(heading, lines)
    return 0


def write_latency_section(lines):
    """The latency section of RESULTS.md, in place of the one there."""
    write_section("## Latency", lines)


def print_partial(rows):
    for name, r in rows.items():
        figures = [name]
        if "max" in r:
            figures += ["max rate captured pps",
                        [round(x) for x in report.cap_pps(r["max"], r["max_count"])],
                        "fixed-rate CPU ns/packet",
                        [round(x) for x in report.cpu_per_pkt(r["fixed"])]]
        if "drain" in r:
            figures += ["drain pps", [round(x) for x in report.drain_pps(r["drain"])],
                        "drain CPU ns/packet",
                        [round(x, 1) for x in report.drain_cpu_per_pkt(r["drain"])]]
        print(*figures, flush=True)


# Parts with modules of their own (bench/rules.py, dna.py, zc.py): each runs
# alone and rewrites only its own section of RESULTS.md.
OWN_PARTS = ("rules", "dna", "zc")


OWN_HEADINGS = ("## Filtering rules", "## DNA cluster", "## zc: (AF_XDP)")


def kept_own_sections():
    """The lines of the sections that the own parts wrote into RESULTS.md,
    so that a full run's rewrite keeps them."""
    try:
        with open(os.path.join(HERE, "RESULTS.md")) as f:
            text = f.read()
    except OSError:
        return []
    lines = []
    for heading in OWN_HEADINGS:
        start = text.find(heading)
        if start >= 0:
            end = text.find("\n## ", start + 1)
            lines += ["", *text[start:end if end >= 0 else len(text)].rstrip("\n").splitlines()]
    return lines


def run_own_parts():
    """Run the parts of BENCH_PARTS that have modules of their own; the
    other parts named, or None if BENCH_PARTS names none of them."""
    named = [p for p in os.environ.get("BENCH_PARTS", "").split(",") if p]
    own = [p for p in named if p in OWN_PARTS]
    if not own:
        return None
    import importlib
    for name in own:
        rc = importlib.import_module(name).main()
        if rc:
            raise SystemExit(rc)
    rest = [p for p in named if p not in OWN_PARTS]
    os.environ["BENCH_PARTS"] = ",".join(rest)
    return rest


def main():
    if os.geteuid() != 0:
        print("bench: needs root", file=sys.stderr)
        return 1
    rest = run_own_parts()
    if rest is not None and not rest:
        return 0
    started, load0 = time.monotonic(), loadavg()
    tmp = tempfile.mkdtemp(prefix="pfring-bench-")
    subprocess.run(["gcc", "-O2", "-o", os.path.join(tmp, "ceiling"),
                    os.path.join(HERE, "ceiling.c")], check=True)
    subprocess.run(["gcc", "-O2", "-o", os.path.join(tmp, "latency"),
                    os.path.join(HERE, "latency.c"), "-lpcap"], check=True)
    pair = VethPair()
    try:
        table = consumers(tmp, pair.if_a)
        status = os.path.join(tmp, "pf_ring")
        drains = drain_consumers(tmp, pair.if_a, status)
        only = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
        parts = set(os.environ.get("BENCH_PARTS", "traffic,drain,latency").split(","))
        if only:
            table = {n: s for n, s in table.items() if n in only}
        scaling = parallel_scaling() if not only and "traffic" in parts else []
        rows = measure(pair, table) if "traffic" in parts else {n: {} for n in table}
        if "drain" in parts:
            measure_drain(pair, {n: s for n, s in drains.items() if n in table}, rows, status)
        lat = {}
        if "latency" in parts:
            lat = latency_consumers(tmp, pair.if_a)
            lat = measure_latency(pair, {n: s for n, s in lat.items() if not only or n in only},
                                  tmp)
            if parts == {"latency"}:
                lines = report.latency_lines(lat, LAT_PROBES, LAT_GAP_MS)
                print("\n".join(lines), flush=True)
                if not only:
                    write_latency_section(lines)
                return 0
        if only or parts != {"traffic", "drain", "latency"}:
            # a partial run: print the figures, leave the results alone
            print_partial(rows)
            return 0
        strace = {n: syscalls_per_packet(pair, n, table[n], FIXED_COUNT, tmp)
                  for n in ("pfcount", "ring_loop")}
        targets = report.evaluate(rows, strace)
        profiles = {}
        if PROFILE and shutil.which("perf"):
            for t in targets:
                if t["ok"] is False:
                    for n in t["consumers"]:
                        if n in table and n not in profiles:
                            profiles[n] = profile(pair, n, table[n], tmp)
                            print(n, "profiled", flush=True)
    finally:
        pair.delete()
        shutil.rmtree(tmp, ignore_errors=True)
    facts = {"machine": machine(), "load": f"{load0} before, {loadavg()} after",
             "minutes": (time.monotonic() - started) / 60, "date": time.strftime("%Y-%m-%d"),
             "settings": {k: globals()[k] for k in SETTINGS}, "scaling": scaling}
    with open(DATA, "w") as f:
        json.dump({"rows": rows, "strace": strace, "profiles": profiles, "facts": facts,
                   "latency": lat}, f)
    return render()


def render():
    """RESULTS.md and results.png from the raw figures of the last full run
    (DATA), so the text can be rewritten without measuring again
    (bench/run.py --render)."""
    with open(DATA) as f:
        d = json.load(f)
    rows, strace, profiles, facts = d["rows"], d["strace"], d["profiles"], d["facts"]
    globals().update(facts["settings"])     # the text describes that run's settings
    targets = report.evaluate(rows, strace)
    text = write_results(rows, strace, targets, profiles, facts, d.get("latency") or {})
    print(text)
    plot(rows, facts["machine"])
    return 0


COMMANDS = """\
make bench      # BENCH_RUNS BENCH_MAX_COUNT BENCH_FIXED_COUNT BENCH_FIXED_PPS BENCH_SCAPY_PPS
                # BENCH_SCAPY_MAX_PPS BENCH_PROFILE=0 (no perf) BENCH_ONLY=a,b (partial)
ceiling veth0 N T 262144|1048576 8 8|1000  # bench/ceiling.c: block bytes, blocks, retire ms
pfcount -i veth0 -e 1 -l 128 -d T --json -q
python ring_batch.py veth0              # n += len(Ring.recv_batch(1024)): zero copy (bench/run.py)
python ring_loop.py veth0               # Ring.loop(cb) (bench/run.py)
tcpdump -i veth0 -Q in -s 128 -w /dev/null
pfring-run tcpdump -i veth0 -Q in -s 128 -w /dev/null
python pcapy_count.py veth0             # pcapy-ng open_live(.., 1000 ms), select(getfd) + dispatch
pfring-run python pcapy_count.py veth0  # the same on libpcap-pfring
python scapy_count.py veth0             # sniff(store=False, prn=count), scapy's own socket
PCAP_PF_RING_APPNAME=scapy-bench python scapy_count.py veth0      # on rings (auto-activated)
PCAP_PF_RING_CLUSTER_ID=21 PCAP_PF_RING_USE_CLUSTER_PER_FLOW=1 python scapy_count.py veth0  # x2
pfsend -i veth1 -n N -l 64|1500 -b 16 -c 16 [-p PPS] -M MAC   # generator, taskset -c 1
strace -c -f -p PID                     # attached for the traffic window only
# drain (BENCH_DRAIN_MIB=128, BENCH_DRAIN_COUNT=800000): SIGSTOP once ready, fill, SIGCONT
ceiling veth0 800000 T 262144|1048576 512|128 1000
PF_RING_MIN_NUM_SLOTS=559240 PF_RING_BLOCK_TIMEOUT_MS=1000 pfcount -i veth0 -e 1 -l 128 -N 800000 ...
PF_RING_BLOCK_TIMEOUT_MS=1000 python ring_batch.py|ring_loop.py veth0 800000 134217728
[pfring-run] tcpdump -i veth0 -Q in -s 128 -w /dev/null -B 131072 -c 800000
[pfring-run] python pcapy_count.py veth0 800000 134217728   # pcapy.create + set_buffer_size
perf record -F 10000 -p PID (-a for the cluster); perf report --no-children --sort dso,sym
# latency (BENCH_PARTS=latency; BENCH_LAT_PROBES=400, BENCH_LAT_GAP_MS=5)
[pfring-run] latency veth0 400 T        # bench/latency.c: pcap_set_immediate_mode(1), ns stamps
python ring_latency.py veth0 400 T 1|0  # Ring.recv; set_batching(1) or the default batching
python lat_sender.py veth1 MAC 400 0.005  # taskset -c 1: one probe frame every 5 ms
"""


# How the profiles of the misses read (written from the profiles below, so
# check them against a new run before trusting them).
READINGS = {
    "pfcount_cpu": "Both spend their samples in the read loop and in poll(); pfcount's "
                   "go to libpfring's per-packet path (afp_recv, recv_one, then the counting "
                   "callback through a function pointer) where the ceiling only adds a length "
                   "in main(): that per-packet call chain is the gap.",
    "tcpdump_pps": "Both kept up with the generator, so this is the one-core capacity "
                   "reading of the CPU target below: see there.",
    "tcpdump_cpu": "Most of both is tcpdump's own pcap_dump/fwrite to /dev/null.  "
                   "libpcap-pfring reads 32 packets per pfring_recv_burst (afp_recv_burst "
                   "walks the kernel's headers: a cache miss each, as in stock libpcap's "
                   "loop) and fills each pcap_pkthdr in ring_read; its kernel blocks are "
                   "1 MiB where stock's are 256 KiB, so it wakes a quarter as often.  What "
                   "is left is the header walk's misses, prefetched ahead but not hidden "
                   "behind tcpdump's work as in stock's one-packet-at-a-time loop.",
    "batch_pfcount": "Ring.recv_batch costs one C call per kernel block and nothing per "
                     "packet in Python (the bench counts len(batch)); pfcount runs its "
                     "whole loop in C.  The difference is the interpreter's work per call "
                     "and per wake-up.",
    "batch_pcapy": "Ring.recv_batch costs one C call per kernel block and nothing per "
                   "packet in Python (the bench counts len(batch); reading a packet builds "
                   "its header and bytes), while pcapy-ng builds a header and a bytes "
                   "object per packet in C and calls the Python callback for each.",
    "scapy_cpu": "The two profiles are the same scapy code (the interpreter, attribute "
                 "lookups, allocation): the ring socket's own share is small.  The gap is "
                 "small next to the spread of the runs when the min..max ranges overlap.",
    "scapy_cluster": "The -a profile shows the split of the two CPUs between the copies, "
                     "pfsend and the kernel: the second copy shares CPU 1 with the "
                     "generator and the veth receive path, and the two CPUs slow each other "
                     "down (see the parallel-scaling figure at the top).",
    "pfcount_drain": "The drain profile is the max-rate one's read loop without the "
                     "wake-ups: what is left is the per-block call into libpfring and the "
                     "tool's once-a-second work; the figures of a few tens of milliseconds "
                     "are noisy on a loaded machine (see the min..max).",
    "tcpdump_drain": "Both spend the drain in tcpdump's pcap_dump/fwrite to /dev/null; "
                     "stock libpcap's ring is not populated at mmap (a page fault per 4 KiB "
                     "on the first pass) where libpfring's is, and the drop-in's 1 MiB blocks "
                     "cost a quarter of the block hand-overs.",
    "pfcount_sys": "poll() is nearly all of the calls (see the strace table): one per "
                   "kernel block handed over (256 KiB, or 8 ms after its first packet: "
                   "libpfring's defaults); the rest is the tool's once-a-second work "
                   "(getpid, the status entry).",
    "ring_loop_sys": "Same as pfcount: poll() once per block handed over, the rest is the "
                     "status entry's once-a-second refresh.",
}


def max_rate_table(runs, cpu):
    """The lines of a max-rate table: runs is name -> (runs, frames sent);
    cpu adds the CPU per packet and capacity columns."""
    R = report
    extra = " CPU ns / packet | capacity (pps) |" if cpu else ""
    lines = ["| consumer | offered pps | captured pps | drop % | busy % |" + extra,
             "|---|---|---|---|---|" + ("---|---|" if cpu else "")]
    for name, (rr, n) in runs.items():
        line = (f"| {name} | {R.fmt3([o for _, o, _, _ in rr])} | {R.fmt3(R.cap_pps(rr, n))} | "
                f"{R.fmt3(R.drop_pct(rr, n), '{:.1f}')} | {R.fmt3(R.busy_pct(rr, n))} |")
        if cpu:
            line += f" {R.fmt3(R.cpu_per_pkt(rr))} | {R.fmt3(R.capacity(rr))} |"
        lines.append(line)
    return lines


def drain_table(rows):
    """The lines of the drain test's section."""
    R = report
    drained = {n: r for n, r in rows.items() if r.get("drain")}
    if not drained:
        return []
    lines = ["", "## Drain: a pre-filled ring, no generator", "",
             f"Every ring is {DRAIN_MIB} MiB (tcpdump `-B {DRAIN_MIB * 1024}` on both libpcaps, "
             "pcapy-ng's `set_buffer_size`, `Ring.set_buffer_size`, pfcount through "
             "`PF_RING_MIN_NUM_SLOTS`, the ceiling's block count; the run checks the status "
             "tree's `Tot Memory` of each libpfring ring), in its consumer's own blocks "
             "(256 KiB; 1 MiB on libpcap-pfring) with a 1 s retire timeout.  The consumer "
             "is started on CPU 0, stopped (SIGSTOP) once it is ready, and its ring filled "
             f"with {DRAIN_COUNT:,} 64-byte frames at the generator's full speed (they fit "
             f"without a drop, which the run checks); {DRAIN_SETTLE:g} s later it gets "
             "SIGCONT, and the time is taken until it prints that it has counted them all "
             "(tcpdump `-c`: its `packets captured` line; pfcount `-N`: `Leaving...`).  "
             "Drain rate: frames / that time (wall clock, so other load on the machine "
             "shows in it); CPU: the consumer's own CPU time over the same window, per "
             "packet.", "",
             "| consumer | block | drain (Mpps) | CPU ns / packet | runs |", "|---|---|---|---|---|"]
    for name, r in drained.items():
        block = "1 MiB" if name in ("tcpdump_pfring", "pcapy_pfring", report.BATCHED) \
            else "256 KiB"
        mpps = [x / 1e6 for x in R.drain_pps(r["drain"])]
        lines.append(f"| {name} | {block} | {R.fmt3(mpps, '{:.2f}')} | "
                     f"{R.fmt3(R.drain_cpu_per_pkt(r['drain']), '{:.1f}')} | {len(r['drain'])} |")
    return lines


def write_results(rows, strace, targets, profiles, facts, lat):
    R = report
    lines = ["# Benchmark results", "",
             f"Written by `make bench` on {facts['date']} in "
             f"{facts['minutes']:.0f} minutes.  Machine: {facts['machine']}; load average "
             f"{facts['load']}.", "",
             "Traffic: pfsend, 256 flows (16 source x 16 destination addresses), veth pair "
             "between two namespaces; generator on CPU 1, consumer on CPU 0 (a cluster's "
             f"second copy on CPU 1).  Median of {RUNS} runs (min..max), taken round robin over "
             "the consumers so that the machine's drifts fall on all of them alike.  Plot: "
             "`results.png`.", "",
             "Two CPU-bound Python processes, one on each CPU, got "
             f"{R.fmt3(facts.get('scaling') or [0], '{:.2f}')} times the work of one alone in "
             "the same CPU time (pure interpreter loops, alternating with the one alone): the "
             "CPUs slow each other down, and this is the most that 2 clustered copies can reach "
             "here.",
             "", "## Max rate, 64-byte frames (generator at full speed)", "",
             f"C, libpcap and pcapy-ng consumers: {MAX_COUNT:,} frames.  scapy: "
             f"{SCAPY_MAX_PPS:,} pps for {SCAPY_SECONDS} s (more than two copies process, "
             "without spending the generator's CPU on frames that could only be dropped), "
             "stopped with the generator (what it "
             "processed in that window).  Busy: the consumer's CPU time over the sending "
             "window (100% = one core; over 100% when it drained a backlog after the last frame; "
             "a consumer well under 100% with no drops was limited by the generator, not by "
             "itself).  CPU: the consumer's CPU time over the packets it captured; capacity: "
             "1e9 / that, what it would capture with a core to itself.", ""]
    lines += max_rate_table({n: (r["max"], r["max_count"]) for n, r in rows.items()}, cpu=True)
    lines += ["", f"## Max rate, 1500-byte frames ({MAX_COUNT // 5:,} frames)", ""]
    lines += max_rate_table({n: (r["max1500"], MAX_COUNT // 5) for n, r in rows.items()
                             if "max1500" in r}, cpu=False)
    lines += ["", "## Fixed rate, 64-byte frames", "",
              "CPU: user + system time of all the consumer's threads (schedstat) from just "
              f"before the first frame to 0.5 s after the last ({TCPDUMP_DRAIN:g} s for tcpdump, "
              "pcapy-ng and the 1 s ceilings, whose kernel hands a block over 1 s after its "
              "first packet), over the packets "
              "captured.  "
              "Capacity: 1e9 / CPU ns per packet, what one core would capture at that cost.", "",
              "| consumer | rate (pps) | frames | CPU ns / packet | capacity (pps) | drop % | "
              "peak RSS (MiB) |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        n = r["fixed_count"]
        rss = [x / 1024 for _, _, _, x in r["fixed"]]
        lines.append(f"| {name} | {r['rate']:,} | {n:,} | {R.fmt3(R.cpu_per_pkt(r['fixed']))} | "
                     f"{R.fmt3(R.capacity(r['fixed']))} | {R.fmt3(R.drop_pct(r['fixed'], n), '{:.1f}')} | "
                     f"{R.fmt3(rss, '{:.1f}')} |")
    lines += drain_table(rows)
    lines += ["", "## System calls per captured packet (strace -c -f, traffic window only)", "",
              "Method: strace attaches (`-p`) after the consumer printed that it is ready (or "
              "1 s after start for pfcount) and is detached 0.5 s after the generator's last "
              f"frame ({FIXED_COUNT:,} frames at {FIXED_PPS:,} pps); start-up and exit are not "
              "counted.", "",
              "| consumer | system calls | packets | per packet | most frequent |",
              "|---|---|---|---|---|"]
    for name, (calls, captured, per, top) in strace.items():
        most = ", ".join(f"{s} {c:,}" for c, s in top[:3])
        lines.append(f"| {name} | {calls:,} | {captured:,} | {per:.4f} | {most} |")
    lines += ["", "## Targets", "",
              "pps targets compare captured pps at max rate.  When both consumers captured "
              f"at least {100 * R.KEPT_UP:g}% of what was offered, that ratio only compares the "
              "generator's speed in two sets of runs, so the target is judged on one-core "
              "capacity instead (1e9 / CPU ns per packet in those max-rate runs: what each "
              "would capture with a core to itself), with the captured shares beside it (said "
              "on the line).", ""]
    lines += [t["line"] for t in targets]
    missed = [t for t in targets if t["ok"] is False]
    if missed:
        lines += ["", "## Profiles of the misses", "",
                  f"`perf record -F {PERF_HZ}` over one max-rate run of each consumer named "
                  "by a missed target (`-p` on the consumer; `-a` for the cluster, sorted by CPU and "
                  "command, so the generator and the kernel's share show).  Top entries of "
                  "`perf report --no-children`, 2% and up.", ""]
        for t in missed:
            lines.append(f"- {t['text']}: profiled " +
                         ", ".join(n for n in t["consumers"] if n in profiles) + "." +
                         (f"  {READINGS[t['key']]}" if t["key"] in READINGS else ""))
        for name, top in profiles.items():
            lines += ["", f"### {name}", "", "```", *top, "```"]
    if lat:
        lines += ["", *report.latency_lines(lat, LAT_PROBES, LAT_GAP_MS)]
    lines += kept_own_sections()
    lines += ["", "## Commands", "", "```", *COMMANDS.splitlines(), "```", ""]
    text = "\n".join(lines)
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write(text)
    return text


def plot(rows, machine_text):
    """bench/results.png: CPU ns per packet at the fixed rate and drain Mpps,
    per consumer (log scales; bars at the median, whiskers from min to
    max)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [
        ([n for n in rows if rows[n].get("fixed")],
         lambda r: report.cpu_per_pkt(r["fixed"]), "#d9822b",
         "CPU ns per captured packet, fixed rate (log)"),
        ([n for n in rows if rows[n].get("drain")],
         lambda r: [x / 1e6 for x in report.drain_pps(r["drain"])], "#3a7dc9",
         f"drain Mpps, {DRAIN_MIB} MiB ring pre-filled, no generator (log)"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, (names, figure, color, label) in zip(axes, panels):
        values = [report.median3(figure(rows[n])) for n in names]
        meds = [m for m, _, _ in values]
        err = [[m - lo for m, lo, _ in values], [hi - m for m, _, hi in values]]
        ax.barh(names, meds, color=color, xerr=err, ecolor="#333333", capsize=3)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.invert_yaxis()
        for i, v in enumerate(meds):
            ax.text(v, i, f" {v:,.0f}" if v >= 100 else f" {v:.2f}", va="bottom", fontsize=8)
    fig.suptitle(f"pcap-pfring consumers side by side, median of {RUNS} runs ({machine_text})",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "results.png"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(render() if sys.argv[1:] == ["--render"] else main())
