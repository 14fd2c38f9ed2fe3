"""make bench: consumers side by side on the same generated traffic.

Two throwaway namespaces joined by a veth pair; pfsend in namespace b
(pinned to CPU 1) sends frames of 256 flows to namespace a, where one
consumer at a time (pinned to CPU 0) captures them:

  ceiling         a minimal TPACKET_V3 reader in C that only counts (bench/ceiling.c)
  pfcount         libpfring, C loop
  ring_batch      Python Ring.recv_batch()
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
  frames for the C and libpcap consumers): offered pps, captured pps,
  drop %.  scapy cannot keep up with a full-speed generator, so the scapy
  consumers get SCAPY_MAX_PPS for a few seconds and are stopped when the
  generator stops: captured pps is what they processed in that window.
- fixed rate: a rate the consumer keeps up with (FIXED_PPS for C and
  libpcap consumers, PY_PPS for pcapy-ng, SCAPY_PPS for scapy): CPU time per
  captured packet (all threads' scheduler time from just before the first
  frame to after the last, so start-up is not counted), drop %, peak RSS.
- system calls per captured packet: strace -c -f attached to pfcount and to
  the Ring.loop consumer after they are ready, for the traffic window only.

Results go to bench/RESULTS.md and bench/results.png.  BENCH_ONLY=a,b runs
some consumers and prints their figures without rewriting the results.
"""
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from pcap_pfring.testing.compat import route_env
from pcap_pfring.testing.fixtures import VethPair

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
MAX_COUNT = int(os.environ.get("BENCH_MAX_COUNT", "500000"))
FIXED_COUNT = int(os.environ.get("BENCH_FIXED_COUNT", "200000"))
FIXED_PPS = int(os.environ.get("BENCH_FIXED_PPS", "100000"))
PY_PPS = int(os.environ.get("BENCH_PY_PPS", "20000"))
SCAPY_PPS = int(os.environ.get("BENCH_SCAPY_PPS", "1000"))
SCAPY_MAX_PPS = int(os.environ.get("BENCH_SCAPY_MAX_PPS", "20000"))
SCAPY_SECONDS = 4
TIMEOUT = 120

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

PCAPY = """
import signal, sys, pcapy
signal.signal(signal.SIGINT, signal.default_int_handler)
p = pcapy.open_live(sys.argv[1], 128, 0, 100)
print("ready", flush=True)
count = [0]
def cb(h, d):
    count[0] += 1
try:
    while True:
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
    for name, code in (("ring_batch", RING_BATCH), ("ring_loop", RING_LOOP), ("pcapy", PCAPY),
                       ("scapy_count", SCAPY)):
        with open(os.path.join(tmp, f"{name}.py"), "w") as f:
            f.write(code)
    script = lambda name: [py, os.path.join(tmp, f"{name}.py"), dev]  # noqa: E731
    tcpdump = ["tcpdump", "-i", dev, "-Q", "in", "-s", "128", "-w", "/dev/null"]
    cluster = dict(route_env("stock", base=_plain_env()), PCAP_PF_RING_CLUSTER_ID="21",
                   PCAP_PF_RING_USE_CLUSTER_PER_FLOW="1")
    table = {
        "ceiling": ([os.path.join(tmp, "ceiling"), dev, str(10**12), str(TIMEOUT)], None, "c", 1),
        "pfcount": ([os.path.join(BIN, "pfcount"), "-i", dev, "-e", "1", "-l", "128",
                     "-d", str(TIMEOUT), "--json", "-q"], None, "c", 1),
        "ring_batch": (script("ring_batch"), None, "c", 1),
        "ring_loop": (script("ring_loop"), None, "c", 1),
        "tcpdump": (tcpdump, route_env("stock"), "c", 1),
        "tcpdump_pfring": (tcpdump, route_env("ring"), "c", 1),
        "pcapy_stock": (script("pcapy"), route_env("stock"), "py", 1),
        "pcapy_pfring": (script("pcapy"), route_env("ring"), "py", 1),
        "scapy_native": (script("scapy_count"), _plain_env(), "scapy", 1),
        "scapy_pfring": (script("scapy_count"),
                         dict(_plain_env(), PCAP_PF_RING_APPNAME="scapy-bench"), "scapy", 1),
        "scapy_cluster2": (script("scapy_count"), cluster, "scapy", 2),
    }
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
    return int(out.split()[-2 if name == "ceiling" else -1])


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
    if name in ("pfcount", "ceiling"):
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


def one_run(pair, name, spec, count, pps, length=64, drain=0.5):
    """Returns (captured, offered_pps, cpu_s, max_rss_kb)."""
    argv, env, _, copies = spec
    procs = []
    try:
        for i in range(copies):
            # copy i on CPU i: a cluster's members each get a core (the paced
            # generator shares CPU 1 with the second one)
            p = subprocess.Popen(pair.a.cmd(["taskset", "-c", str(i % 2), *argv]), env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=_default_sigint)
            procs.append(p)
            line = _ready(name, p)
            if name.startswith("scapy") and ("pcap_pfring" in line) != (name != "scapy_native"):
                raise RuntimeError(f"{name}: wrong socket: {line!r}")
        cpu0 = [cpu_ns(p.pid) for p in procs]
        _, offered = generator(pair, count, pps, length)
        time.sleep(drain)                 # let the consumer drain its ring
        cpu = sum(cpu_ns(p.pid) - c for p, c in zip(procs, cpu0)) / 1e9
        rss = max(peak_rss_kb(p.pid) for p in procs)
        for p in procs:
            os.kill(p.pid, signal.SIGINT)
        captured = 0
        for p in procs:
            if not _reap(p, 20):
                p.kill()
                p.wait()
            captured += count_of(name, p.stdout.read(), p.stderr.read())
        return captured, offered, cpu, rss
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for s in (p.stdout, p.stderr):
                s.close()


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


def median3(values):
    return statistics.median(values), min(values), max(values)


def syscalls_per_packet(pair, name, spec, count):
    """strace -c -f attached once the consumer is ready and detached once the
    traffic is over: the system calls of the traffic window only."""
    argv, env, _, _ = spec
    out = os.path.join(tempfile.gettempdir(), f"strace-{os.getpid()}.txt")
    p = subprocess.Popen(pair.a.cmd(["taskset", "-c", "0", *argv]), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_default_sigint)
    try:
        _ready(name, p)
        st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(p.pid)],
                              stderr=subprocess.DEVNULL)
        time.sleep(1.0)                   # attached to every thread
        generator(pair, count, FIXED_PPS, 64)
        time.sleep(0.5)
        st.send_signal(signal.SIGINT)     # detach: strace writes its summary
        st.wait(30)
        os.kill(p.pid, signal.SIGINT)
        _reap(p, 20)
        captured = count_of(name, p.stdout.read(), p.stderr.read())
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    total = re.search(r"^100\.00\s+\S+\s+\S+\s+(\d+)", text, re.M)
    calls = int(total.group(1)) if total else sum(
        int(m.group(1)) for m in re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)", text, re.M))
    return calls, captured, calls / max(captured, 1)


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), kernel {platform.release()}, "
            f"Python {platform.python_version()}")


def measure(pair, table):
    """rows: name -> {"max": [...], "max1500": [...], "fixed": [...], "rate": pps}."""
    rows = {}
    for name, spec in table.items():
        kind = spec[2]
        r = {}
        if kind == "scapy":
            n = SCAPY_MAX_PPS * SCAPY_SECONDS
            r["max"] = [one_run(pair, name, spec, n, SCAPY_MAX_PPS, drain=0) for _ in range(RUNS)]
            r["max_count"] = n
            r["rate"], count = SCAPY_PPS, SCAPY_PPS * 5
        else:
            r["max"] = [one_run(pair, name, spec, MAX_COUNT, 0) for _ in range(RUNS)]
            r["max_count"] = MAX_COUNT
            if kind == "c":
                r["max1500"] = [one_run(pair, name, spec, MAX_COUNT // 5, 0, 1500)
                                for _ in range(RUNS)]
            r["rate"], count = (FIXED_PPS, FIXED_COUNT) if kind == "c" else (PY_PPS, PY_PPS * 5)
        r["fixed"] = [one_run(pair, name, spec, count, r["rate"]) for _ in range(RUNS)]
        r["fixed_count"] = count
        rows[name] = r
        print(name, "done", flush=True)
    return rows


def main():
    if os.geteuid() != 0:
        print("bench: needs root", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="pfring-bench-")
    subprocess.run(["gcc", "-O2", "-o", os.path.join(tmp, "ceiling"),
                    os.path.join(HERE, "ceiling.c")], check=True)
    pair = VethPair()
    try:
        table = consumers(tmp, pair.if_a)
        only = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
        if only:
            table = {n: s for n, s in table.items() if n in only}
        rows = measure(pair, table)
        if only:      # a partial run: print the figures, leave the results alone
            for name, r in rows.items():
                print(name, "max rate captured", [c for c, _, _, _ in r["max"]],
                      "fixed-rate CPU ns/packet",
                      [round(1e9 * cpu / max(c, 1)) for c, _, cpu, _ in r["fixed"]])
            return 0
        strace = {n: syscalls_per_packet(pair, n, table[n], FIXED_COUNT)
                  for n in ("pfcount", "ring_loop")}
    finally:
        pair.delete()
        shutil.rmtree(tmp, ignore_errors=True)
    write_results(rows, strace)
    plot(rows)
    return 0


def fmt3(values, f="{:,.0f}"):
    m, lo, hi = median3(values)
    return f"{f.format(m)} ({f.format(lo)}..{f.format(hi)})"


def cap_pps(runs, count):
    """Captured packets per second of each run (the sending window)."""
    return [c / (count / o) for c, o, _, _ in runs]


def cpu_per_pkt(runs):
    return [1e9 * cpu / max(c, 1) for c, _, cpu, _ in runs]


def med(values):
    return median3(values)[0]


def ratio_lines(rows, strace):
    """The targets of the benchmark issue, each with its measured ratio."""
    def cap(n):
        return med(cap_pps(rows[n]["max"], rows[n]["max_count"])) if n in rows else None

    def cpu(n):
        return med(cpu_per_pkt(rows[n]["fixed"])) if n in rows else None

    def line(text, value, target, better):
        if value is None:
            return f"- {text}: not measured"
        ok = value >= target if better == "high" else value <= target
        return (f"- {text}: {value:.2f} (target {'>=' if better == 'high' else '<='} "
                f"{target}) {'met' if ok else 'MISSED'}")

    def div(a, b):
        return a / b if a is not None and b else None

    out = [line("pfcount CPU per packet / ceiling", div(cpu("pfcount"), cpu("ceiling")), 1.2, "low"),
           line("pfcount captured pps / ceiling, max rate", div(cap("pfcount"), cap("ceiling")),
                0.95, "high"),
           line("tcpdump via libpcap-pfring / stock: captured pps",
                div(cap("tcpdump_pfring"), cap("tcpdump")), 1.0, "high"),
           line("tcpdump via libpcap-pfring / stock: CPU per packet",
                div(cpu("tcpdump_pfring"), cpu("tcpdump")), 1.0, "low"),
           line("Ring.recv_batch / pfcount: captured pps", div(cap("ring_batch"), cap("pfcount")),
                0.5, "high"),
           line("Ring.recv_batch / pcapy-ng on stock libpcap: captured pps",
                div(cap("ring_batch"), cap("pcapy_stock")), 3.0, "high"),
           line("scapy on rings / scapy's own socket: CPU per packet",
                div(cpu("scapy_pfring"), cpu("scapy_native")), 1.0, "low"),
           line("2 clustered scapy / 1 scapy on rings: packets per second",
                div(cap("scapy_cluster2"), cap("scapy_pfring")), 1.7, "high")]
    for name, (_, _, per) in strace.items():
        out.append(line(f"{name} system calls per captured packet", per, 0.01, "low"))
    return out


def write_results(rows, strace):
    lines = ["# Benchmark results", "",
             f"Written by `make bench` on {time.strftime('%Y-%m-%d')}.  Machine: {machine()}.", "",
             "Traffic: pfsend, 256 flows, veth pair between two namespaces; generator on CPU 1, "
             f"consumer on CPU 0.  Median of {RUNS} runs (min..max).  Plot: `results.png`.", "",
             "## Max rate, 64-byte frames (generator at full speed)", "",
             f"C and libpcap consumers: {MAX_COUNT:,} frames.  scapy: {SCAPY_MAX_PPS:,} pps for "
             f"{SCAPY_SECONDS} s, stopped with the generator (what it processed in that window).",
             "", "| consumer | offered pps | captured pps | drop % |", "|---|---|---|---|"]
    for name, r in rows.items():
        n = r["max_count"]
        drop = [100.0 * (n - c) / n for c, _, _, _ in r["max"]]
        lines.append(f"| {name} | {fmt3([o for _, o, _, _ in r['max']])} | "
                     f"{fmt3(cap_pps(r['max'], n))} | {fmt3(drop, '{:.1f}')} |")
    lines += ["", f"## Max rate, 1500-byte frames ({MAX_COUNT // 5:,} frames)", "",
              "| consumer | offered pps | captured pps | drop % |", "|---|---|---|---|"]
    for name, r in rows.items():
        if "max1500" in r:
            n = MAX_COUNT // 5
            drop = [100.0 * (n - c) / n for c, _, _, _ in r["max1500"]]
            lines.append(f"| {name} | {fmt3([o for _, o, _, _ in r['max1500']])} | "
                         f"{fmt3(cap_pps(r['max1500'], n))} | {fmt3(drop, '{:.1f}')} |")
    lines += ["", "## Fixed rate, 64-byte frames", "",
              "| consumer | rate (pps) | frames | CPU ns / packet | drop % | peak RSS (MiB) |",
              "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        n = r["fixed_count"]
        drop = [100.0 * (n - c) / n for c, _, _, _ in r["fixed"]]
        rss = [x / 1024 for _, _, _, x in r["fixed"]]
        lines.append(f"| {name} | {r['rate']:,} | {n:,} | {fmt3(cpu_per_pkt(r['fixed']))} | "
                     f"{fmt3(drop, '{:.1f}')} | {fmt3(rss, '{:.1f}')} |")
    lines += ["", "## System calls per captured packet (strace -c -f, traffic window only)", "",
              f"strace attaches after the consumer is ready and detaches after {FIXED_COUNT:,} "
              f"frames at {FIXED_PPS:,} pps; start-up and exit are not counted.", "",
              "| consumer | system calls | packets | per packet |", "|---|---|---|---|"]
    for name, (calls, captured, per) in strace.items():
        lines.append(f"| {name} | {calls:,} | {captured:,} | {per:.4f} |")
    lines += ["", "## Targets", ""] + ratio_lines(rows, strace)
    lines += ["", "## Commands", "", "```",
              "make bench      # BENCH_RUNS BENCH_MAX_COUNT BENCH_FIXED_COUNT BENCH_FIXED_PPS",
              "                # BENCH_PY_PPS BENCH_SCAPY_PPS BENCH_SCAPY_MAX_PPS BENCH_ONLY",
              "ceiling veth0 N T                       # bench/ceiling.c",
              "pfcount -i veth0 -e 1 -l 128 -d T --json -q",
              "python ring_batch.py veth0              # Ring.recv_batch(1024) loop (bench/run.py)",
              "python ring_loop.py veth0               # Ring.loop(cb) (bench/run.py)",
              "tcpdump -i veth0 -Q in -s 128 -w /dev/null",
              "pfring-run tcpdump -i veth0 -Q in -s 128 -w /dev/null",
              "python pcapy.py veth0                   # pcapy-ng open_live/dispatch, stock or pfring-run",
              "python scapy_count.py veth0             # sniff(store=False, prn=count)",
              "PCAP_PF_RING_APPNAME=scapy-bench python scapy_count.py veth0      # on rings",
              "PCAP_PF_RING_CLUSTER_ID=21 PCAP_PF_RING_USE_CLUSTER_PER_FLOW=1 python scapy_count.py veth0  # x2",
              "pfsend -i veth1 -n N -l 64|1500 -b 16 -c 16 [-p PPS]   # generator, taskset -c 1",
              "strace -c -f -p PID                     # attached for the traffic window",
              "```", ""]
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


def plot(rows):
    """bench/results.png: captured pps at max rate and CPU ns per packet at
    the fixed rate, per consumer (log scales)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(rows)
    caps = [med(cap_pps(rows[n]["max"], rows[n]["max_count"])) for n in names]
    cpus = [med(cpu_per_pkt(rows[n]["fixed"])) for n in names]
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 5))
    a.barh(names, caps, color="#3a7dc9")
    a.set_xscale("log")
    a.set_xlabel("captured packets per second, max rate, 64-byte frames (log)")
    b.barh(names, cpus, color="#d9822b")
    b.set_xscale("log")
    b.set_xlabel("CPU ns per captured packet, fixed rate (log)")
    for ax, values in ((a, caps), (b, cpus)):
        ax.invert_yaxis()
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    fig.suptitle(f"pcap-pfring consumers side by side ({machine()})", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "results.png"), dpi=100)


if __name__ == "__main__":
    sys.exit(main())
