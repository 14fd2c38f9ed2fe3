"""make bench: consumers side by side on the same generated traffic.

Two throwaway namespaces joined by a veth pair; pfsend in namespace b
(pinned to CPU 1) sends 64-byte frames of 256 flows to namespace a, where
one consumer at a time (pinned to CPU 0) captures them:

  ceiling     a minimal TPACKET_V3 reader in C that only counts (bench/ceiling.c)
  pfcount     libpfring, C loop
  ring_batch  Python Ring.recv_batch()
  ring_loop   Python Ring.loop() with a counting callback
  tcpdump     stock tcpdump -w /dev/null on the system libpcap
  tcpdump_pfring  the same tcpdump through libpcap-pfring (pfring-run)

Each consumer is measured at max rate (offered pps, captured pps, drop %)
and at a fixed rate every consumer keeps up with (CPU ns per captured packet,
drop %, peak RSS).  Every figure is the median of RUNS runs, with min and
max.  strace -c gives system calls per packet for pfcount and Ring.loop.
The results are written to bench/RESULTS.md.
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

from pcap_pfring.testing.fixtures import VethPair

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
MAX_COUNT = int(os.environ.get("BENCH_MAX_COUNT", "500000"))
FIXED_COUNT = int(os.environ.get("BENCH_FIXED_COUNT", "200000"))
FIXED_PPS = int(os.environ.get("BENCH_FIXED_PPS", "100000"))
TIMEOUT = 120
UNBOUNDED = 10**12     # consumers run until SIGINT

RING_BATCH = """
import sys, time, pcap_pfring as p
want, end = int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
r = p.Ring(sys.argv[1], caplen=128, enable=True)
r.set_direction(p.Direction.RX_ONLY)
print("ready", flush=True)
n = 0
try:
    while n < want and time.monotonic() < end:
        n += len(r.recv_batch(1024, timeout=0.1))
except KeyboardInterrupt:
    pass
print(n, flush=True)
"""

RING_LOOP = """
import sys, time, pcap_pfring as p
want, t = int(sys.argv[2]), float(sys.argv[3])
r = p.Ring(sys.argv[1], caplen=128, enable=True)
r.set_direction(p.Direction.RX_ONLY)
print("ready", flush=True)
count = [0]
def cb(h, v):
    count[0] += 1
try:
    r.loop(cb, count=want)
except KeyboardInterrupt:
    pass
print(count[0], flush=True)
"""


def consumers(tmp, dev):
    py = sys.executable
    for name, code in (("ring_batch", RING_BATCH), ("ring_loop", RING_LOOP)):
        with open(os.path.join(tmp, f"{name}.py"), "w") as f:
            f.write(code)
    return {
        "ceiling": lambda n: [os.path.join(tmp, "ceiling"), dev, str(n), str(TIMEOUT)],
        "pfcount": lambda n: [os.path.join(BIN, "pfcount"), "-i", dev, "-e", "1", "-l", "128",
                              "-d", str(TIMEOUT), "--json", "-q"],
        "ring_batch": lambda n: [py, os.path.join(tmp, "ring_batch.py"), dev, str(n), str(TIMEOUT)],
        "ring_loop": lambda n: [py, os.path.join(tmp, "ring_loop.py"), dev, str(n), str(TIMEOUT)],
        "tcpdump": lambda n: ["tcpdump", "-i", dev, "-Q", "in", "-s", "128", "-w", "/dev/null"],
        "tcpdump_pfring": lambda n: [os.path.join(BIN, "pfring-run"), "tcpdump", "-i", dev,
                                     "-Q", "in", "-s", "128", "-w", "/dev/null"],
    }


def count_of(name, out, err):
    if name == "pfcount":
        return int(re.search(r'"recv": (\d+)', out).group(1))
    if name.startswith("tcpdump"):
        return int(re.search(r"(\d+) packets captured", err).group(1))
    return int(out.split()[-2 if name == "ceiling" else -1])


def _reap(p, timeout):
    """Wait up to timeout for p; its rusage, or None.  (Popen.wait would reap
    the child and lose the rusage, so this waits itself.)"""
    deadline = time.monotonic() + timeout
    while True:
        pid, _, usage = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            return usage
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def one_run(pair, name, argv, count, pps):
    """Returns (captured, offered_pps, cpu_s, max_rss_kb)."""
    cmd = pair.a.cmd(["taskset", "-c", "0", *argv])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if name.startswith("tcpdump") or name == "pfcount":
        time.sleep(1.0)               # no ready line: give it time to enable
    else:
        p.stdout.readline()           # "ready"
    gen = ["taskset", "-c", "1", os.path.join(BIN, "pfsend"), "-i", pair.if_b, "-n", str(count),
           "-l", "64", "-b", "16", "-c", "16", "-M", pair.mac_a.hex(":"), "-q", "--json"]
    if pps:
        gen += ["-p", str(pps)]
    cpu0 = cpu_ns(p.pid)
    res = pair.b.run(gen, check=True, timeout=TIMEOUT)
    sent = int(re.search(r'"sent": (\d+)', res.stdout).group(1))
    offered = sent / float(re.search(r'"duration_s": ([\d.]+)', res.stdout).group(1))
    time.sleep(0.5)                   # let the consumer drain its ring
    cpu = (cpu_ns(p.pid) - cpu0) / 1e9
    rss = peak_rss_kb(p.pid)
    os.kill(p.pid, signal.SIGINT)
    usage = _reap(p, 20)
    if usage is None:
        os.kill(p.pid, signal.SIGKILL)
        _reap(p, 20)
    out, err = p.stdout.read(), p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    p.returncode = 0
    captured = count_of(name, out, err)
    return captured, offered, cpu, rss


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


def syscalls_per_packet(pair, argv, count):
    out = os.path.join(tempfile.gettempdir(), f"strace-{os.getpid()}.txt")
    argv = [a for a in argv]
    cmd = pair.a.cmd(["taskset", "-c", "0", "strace", "-c", "-f", "-o", out, *argv])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    pair.b.run(["taskset", "-c", "1", os.path.join(BIN, "pfsend"), "-i", pair.if_b, "-n",
                str(count), "-l", "64", "-b", "16", "-c", "16", "-M", pair.mac_a.hex(":"),
                "-p", str(FIXED_PPS), "-q"], check=True, timeout=TIMEOUT)
    time.sleep(1.0)
    # strace runs the consumer as its child: signal the whole group
    subprocess.run(["pkill", "-INT", "-P", str(p.pid)], check=False)
    p.communicate(timeout=30)
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    total = re.search(r"^100\.00\s+\S+\s+\S+\s+(\d+)", text, re.M)
    calls = int(total.group(1)) if total else sum(
        int(m.group(1)) for m in re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)", text, re.M))
    return calls, calls / count


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), kernel {platform.release()}, "
            f"Python {platform.python_version()}")


def main():
    if os.geteuid() != 0:
        print("bench: needs root", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="pfring-bench-")
    subprocess.run(["gcc", "-O2", "-o", os.path.join(tmp, "ceiling"),
                    os.path.join(HERE, "ceiling.c")], check=True)
    pair = VethPair()
    rows = {}
    try:
        table = consumers(tmp, pair.if_a)
        only = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
        for name, argv in table.items():
            if only and name not in only:
                continue
            maxr = [one_run(pair, name, argv(UNBOUNDED), MAX_COUNT, 0) for _ in range(RUNS)]
            fixed = [one_run(pair, name, argv(UNBOUNDED), FIXED_COUNT, FIXED_PPS)
                     for _ in range(RUNS)]
            rows[name] = (maxr, fixed)
            print(name, "done", flush=True)
        if only:      # a partial run: print the figures, leave RESULTS.md alone
            for name, (maxr, fixed) in rows.items():
                print(name, "max rate captured", [c for c, _, _, _ in maxr],
                      "fixed-rate CPU ns/packet", [round(1e9 * cpu / max(c, 1)) for c, _, cpu, _ in fixed])
            return 0
        strace = {
            "pfcount": syscalls_per_packet(pair, table["pfcount"](UNBOUNDED), FIXED_COUNT),
            "ring_loop": syscalls_per_packet(pair, table["ring_loop"](UNBOUNDED), FIXED_COUNT),
        }
    finally:
        pair.delete()
        shutil.rmtree(tmp, ignore_errors=True)
    write_results(rows, strace)
    return 0


def fmt3(values, f="{:,.0f}"):
    m, lo, hi = median3(values)
    return f"{f.format(m)} ({f.format(lo)}..{f.format(hi)})"


def cpu_of(rows, name):
    """Median CPU ns per captured packet of a consumer at the fixed rate."""
    return median3([1e9 * cpu / max(c, 1) for c, _, cpu, _ in rows[name][1]])[0]


def write_results(rows, strace):
    lines = ["# Benchmark results", "",
             f"Written by `make bench` on {time.strftime('%Y-%m-%d')}.  Machine: {machine()}.", "",
             "Traffic: pfsend, 64-byte frames, 256 flows, veth pair between two namespaces; "
             "generator on CPU 1, consumer on CPU 0.  Median of "
             f"{RUNS} runs (min..max).", "",
             f"## Max rate ({MAX_COUNT:,} frames, generator at full speed)", "",
             "| consumer | offered pps | captured pps | drop % |", "|---|---|---|---|"]
    for name, (maxr, _) in rows.items():
        offered = [o for _, o, _, _ in maxr]
        cap_pps = [c / (MAX_COUNT / o) for c, o, _, _ in maxr]
        drop = [100.0 * (MAX_COUNT - c) / MAX_COUNT for c, _, _, _ in maxr]
        lines.append(f"| {name} | {fmt3(offered)} | {fmt3(cap_pps)} | {fmt3(drop, '{:.1f}')} |")
    lines += ["", f"## Fixed rate ({FIXED_COUNT:,} frames at {FIXED_PPS:,} pps)", "",
              "| consumer | CPU ns / packet | drop % | peak RSS (MiB) |", "|---|---|---|---|"]
    for name, (_, fixed) in rows.items():
        cpu = [1e9 * cpu / max(c, 1) for c, _, cpu, _ in fixed]
        drop = [100.0 * (FIXED_COUNT - c) / FIXED_COUNT for c, _, _, _ in fixed]
        rss = [r / 1024 for _, _, _, r in fixed]
        lines.append(f"| {name} | {fmt3(cpu)} | {fmt3(drop, '{:.1f}')} | {fmt3(rss, '{:.1f}')} |")
    lines += ["", "## System calls per captured packet (strace -c -f, fixed rate)", "",
              "| consumer | system calls | per packet |", "|---|---|---|"]
    for name, (calls, per) in strace.items():
        lines.append(f"| {name} | {calls:,} | {per:.4f} |")
    ceil = cpu_of(rows, "ceiling")
    pfc = cpu_of(rows, "pfcount")
    cap = {n: median3([c / (MAX_COUNT / o) for c, o, _, _ in r[0]])[0] for n, r in rows.items()}
    lines += ["", "## Ratios", "",
              f"- pfcount CPU per packet / ceiling: {pfc / ceil:.2f} (target <= 1.2)",
              f"- pfcount captured pps / ceiling at max rate: {cap['pfcount'] / cap['ceiling']:.2f}"
              " (target >= 0.95)",
              f"- Ring.recv_batch captured pps / pfcount: {cap['ring_batch'] / cap['pfcount']:.2f}"
              " (target >= 0.5)",
              f"- tcpdump through libpcap-pfring / stock tcpdump: captured pps "
              f"{cap['tcpdump_pfring'] / cap['tcpdump']:.2f} (target >= 1), CPU per packet "
              f"{cpu_of(rows, 'tcpdump_pfring') / cpu_of(rows, 'tcpdump'):.2f} (target <= 1)",
              "", "## Commands", "", "```",
              "make bench            # BENCH_RUNS, BENCH_MAX_COUNT, BENCH_FIXED_COUNT, BENCH_FIXED_PPS",
              "ceiling veth0 N T     # bench/ceiling.c",
              "pfcount -i veth0 -e 1 -l 128 -N N -d T --json -q",
              "python ring_batch.py veth0 N T   # Ring.recv_batch(1024) loop (bench/run.py)",
              "python ring_loop.py veth0 N T    # Ring.loop(count=N) (bench/run.py)",
              "tcpdump -i veth0 -Q in -s 128 -w /dev/null",
              "pfring-run tcpdump -i veth0 -Q in -s 128 -w /dev/null",
              "pfsend -i veth1 -n N -l 64 -b 16 -c 16 [-p PPS]   # generator, taskset -c 1",
              "```", ""]
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
