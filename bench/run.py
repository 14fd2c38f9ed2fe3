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
- system calls per captured packet: strace -c -f attached to pfcount and to
  the Ring.loop consumer after they are ready, for the traffic window only.
- targets: the ratios of the benchmark issue (bench/report.py); for each
  missed one, perf record over a fixed-rate run of the consumers it names.

Results go to bench/RESULTS.md and bench/results.png.  BENCH_ONLY=a,b runs
some consumers and prints their figures without rewriting the results.
"""
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
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
SETTINGS = ("RUNS", "MAX_COUNT", "FIXED_COUNT", "FIXED_PPS", "SCAPY_PPS", "SCAPY_MAX_PPS",
            "SCAPY_SECONDS", "TCPDUMP_DRAIN", "PERF_HZ")
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

RING_BATCH = """
import signal, sys, pcap_pfring as p
signal.signal(signal.SIGINT, signal.default_int_handler)
r = p.Ring(sys.argv[1], caplen=128, enable=True)
r.set_direction(p.Direction.RX_ONLY)
print("ready", flush=True)
n = 0
try:
    while True:
        n += len(r.recv_batch(1024, timeout=0.1))
except KeyboardInterrupt:
    pass
print(n, flush=True)
"""

RING_LOOP = """
import signal, sys, pcap_pfring as p
signal.signal(signal.SIGINT, signal.default_int_handler)
r = p.Ring(sys.argv[1], caplen=128, enable=True)
r.set_direction(p.Direction.RX_ONLY)
print("ready", flush=True)
count = [0]
def cb(h, v):
    count[0] += 1
try:
    r.loop(cb)
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
p = pcapy.open_live(sys.argv[1], 128, 0, 1000)
p.setnonblock(1)
fd = p.getfd()
print("ready", flush=True)
count = [0]
def cb(h, d):
    count[0] += 1
try:
    while True:
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


def main():
    if os.geteuid() != 0:
        print("bench: needs root", file=sys.stderr)
        return 1
    started, load0 = time.monotonic(), loadavg()
    tmp = tempfile.mkdtemp(prefix="pfring-bench-")
    subprocess.run(["gcc", "-O2", "-o", os.path.join(tmp, "ceiling"),
                    os.path.join(HERE, "ceiling.c")], check=True)
    pair = VethPair()
    try:
        table = consumers(tmp, pair.if_a)
        only = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
        if only:
            table = {n: s for n, s in table.items() if n in only}
        scaling = parallel_scaling()
        rows = measure(pair, table)
        if only:      # a partial run: print the figures, leave the results alone
            for name, r in rows.items():
                print(name, "max rate captured pps",
                      [round(x) for x in report.cap_pps(r["max"], r["max_count"])],
                      "fixed-rate CPU ns/packet", [round(x) for x in report.cpu_per_pkt(r["fixed"])])
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
        json.dump({"rows": rows, "strace": strace, "profiles": profiles, "facts": facts}, f)
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
    text = write_results(rows, strace, targets, profiles, facts)
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
perf record -F 10000 -p PID (-a for the cluster); perf report --no-children --sort dso,sym
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


def write_results(rows, strace, targets, profiles, facts):
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
    lines += ["", "## Commands", "", "```", *COMMANDS.splitlines(), "```", ""]
    text = "\n".join(lines)
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write(text)
    return text


def plot(rows, machine_text):
    """bench/results.png: captured pps at max rate and CPU ns per packet at
    the fixed rate, per consumer (log scales; bars at the median, whiskers
    from min to max)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(rows)
    caps = [report.median3(report.cap_pps(rows[n]["max"], rows[n]["max_count"])) for n in names]
    cpus = [report.median3(report.cpu_per_pkt(rows[n]["fixed"])) for n in names]
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, values, color, label in (
            (a, caps, "#3a7dc9", "captured packets per second, max rate, 64-byte frames (log)"),
            (b, cpus, "#d9822b", "CPU ns per captured packet, fixed rate (log)")):
        meds = [m for m, _, _ in values]
        err = [[m - lo for m, lo, _ in values], [hi - m for m, _, hi in values]]
        ax.barh(names, meds, color=color, xerr=err, ecolor="#333333", capsize=3)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.invert_yaxis()
        for i, v in enumerate(meds):
            ax.text(v, i, f" {v:,.0f}", va="bottom", fontsize=8)
    fig.suptitle(f"pcap-pfring consumers side by side, median of {RUNS} runs ({machine_text})",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "results.png"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(render() if sys.argv[1:] == ["--render"] else main())
