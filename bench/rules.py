"""bench rules (BENCH_PARTS=rules, or bench/rules.py alone): what filtering
rules cost per packet.

One consumer script (RULES_CONSUMER) opens a Ring on namespace a's veth,
sets up one row's rules or BPF expression with the public API
(Ring.add_rule / add_hash_rule / set_bpf_filter), and counts with the C
count path (Ring.recv_count) until SIGINT, then prints its count.  pfsend in
namespace b (CPU 1) offers FLOWS: 10 source addresses x 100 destination
addresses x 10 UDP source ports = 10,000 distinct flows, sent round robin
with the source port varying fastest, so that a rule on the source port
10000..10008 matches exactly 9 frames in 10.

Rows (ROWS): no rules; 64 wildcard rules that match nothing; 10,000 hash
rules that match nothing and 10,000 that match every flow (forward); 90%
dropped in the kernel by one wildcard rule (DONT_FORWARD_AND_STOP), by the
BPF expression in the kernel socket filter, and the same expression run in
user space (Flags.USERSPACE_BPF: every packet is delivered into the ring
and the C count path discards 9 in 10 with the compiled filter, nothing
per packet in Python).

Each run offers COUNT frames at PPS (a rate every row keeps up with) and
reads, over the sending window: the consumer's CPU time (schedstat, every
thread), the sender's CPU time from its "Sending" line to its last one (on a
veth the receive path -- the socket filter and the rules program included --
runs in the sender's softirq on CPU 1, charged to the sender when it runs
at the end of its send call, or to ksoftirqd/1 when deferred), ksoftirqd/1's
CPU time, and CPU 1's softirq ticks from /proc/stat.  Every figure is per
packet offered.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import report  # noqa: E402
import run  # noqa: E402  (bench/run.py: the veth pair, the consumer start/stop, CPU readings)

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PPS = int(os.environ.get("BENCH_RULES_PPS", "100000"))
COUNT = int(os.environ.get("BENCH_RULES_COUNT", "300000"))
MAX_COUNT = int(os.environ.get("BENCH_RULES_MAX_COUNT", "300000"))
BUFFER = 32 * 1024 * 1024            # every row's ring: scheduling noise on a busy machine
TIMEOUT = 120
N_SRC, N_DST, N_PORTS = 10, 100, 10
FLOWS = ("-b", str(N_SRC), "-c", str(N_DST), "-t", str(N_PORTS))
SRC0, DST0, SPORT0, DPORT = "10.0.0.", "192.168.0.", 10000, 9   # pfsend's defaults
KEEP = "udp src port 10009"          # the 1 frame in 10 the drop rows keep

# name -> (what it is, share of the offered frames it delivers)
ROWS = {
    "no_rules": ("no rules, no filter", 1.0),
    "wild64_none": ("64 wildcard rules, none matching (forward everything)", 1.0),
    "hash10k_none": ("10,000 hash rules, none matching", 1.0),
    "hash10k_all": ("10,000 hash rules, every flow matching (forward)", 1.0),
    "drop90_rule": ("90% dropped by one wildcard rule (DONT_FORWARD_AND_STOP)", 0.1),
    "drop90_bpf": (f"90% dropped by the BPF expression `{KEEP}` in the kernel", 0.1),
    "drop90_user": ("everything delivered, 90% discarded in user space (the same "
                    "expression, Flags.USERSPACE_BPF, in the C count path)", 0.1),
}

RULES_CONSUMER = """
import signal, sys, pcap_pfring as p
from pcap_pfring.rules import HashRule, Rule, RuleAction
stop = []
signal.signal(signal.SIGINT, lambda *a: stop.append(1))   # recv_count returns, then we stop
dev, mode = sys.argv[1], sys.argv[2]
n_src, n_dst, n_ports, sport0, dport = (int(x) for x in sys.argv[3:8])
keep, size = sys.argv[8], int(sys.argv[9])
flags = p.Flags.USERSPACE_BPF if mode == "drop90_user" else p.Flags.NONE
r = p.Ring(dev, caplen=128, flags=flags)
r.set_buffer_size(size)
if mode == "wild64_none":
    for i in range(64):           # UDP to ports 1000..1063: the traffic goes to port 9
        r.add_rule(Rule(rule_id=i + 1, proto=17, dport=1000 + i))
elif mode.startswith("hash10k"):
    peer_b_port = dport if mode == "hash10k_all" else dport + 1
    for s in range(n_src):
        for d in range(n_dst):
            for t in range(n_ports):
                r.add_hash_rule(HashRule(host_peer_a=f"10.0.0.{s + 1}",
                                         host_peer_b=f"192.168.0.{d + 1}",
                                         port_peer_a=sport0 + t, port_peer_b=peer_b_port,
                                         proto=17))
elif mode == "drop90_rule":
    r.add_rule(Rule(rule_id=1, rule_action=RuleAction.DONT_FORWARD_AND_STOP, proto=17,
                    sport=(sport0, sport0 + n_ports - 2)))
elif mode in ("drop90_bpf", "drop90_user"):
    r.set_bpf_filter(keep)
elif mode != "no_rules":
    sys.exit(f"unknown mode {mode!r}")
r.enable()
r.set_direction(p.Direction.RX_ONLY)
print("ready", flush=True)
n = 0
while not stop:
    n += r.recv_count(0, 0.1)[0]
st = r.stats()
print("stats", st.recv, st.drop, file=sys.stderr, flush=True)
print(n, flush=True)
"""


def consumer_specs(tmp, dev):
    """name -> the (argv, env, kind, copies) that run._start takes."""
    path = os.path.join(tmp, "rules_consumer.py")
    with open(path, "w") as f:
        f.write(RULES_CONSUMER)
    args = [str(x) for x in (N_SRC, N_DST, N_PORTS, SPORT0, DPORT)]
    return {name: ([sys.executable, path, dev, name, *args, KEEP, str(BUFFER)], None, "c", 1)
            for name in ROWS}


def _proc_stat_cpu(cpu):
    """(busy, softirq) ticks of one CPU from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return sum(v) - v[3] - v[4], v[6]      # all but idle and iowait; softirq
    raise RuntimeError(f"no cpu{cpu} in /proc/stat")


def _ksoftirqd(cpu):
    """The pid of ksoftirqd/CPU (None if not found)."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == f"ksoftirqd/{cpu}":
                        return int(pid)
            except OSError:
                pass
    return None


class SendWindow:
    """The sender's run, measured from its "Sending packets" line to its
    final statistics: its CPU, ksoftirqd/1's, and CPU 1's /proc/stat."""
    def __init__(self, sent, pps, sender_s, ksoftirqd_s, cpu1_busy_s, cpu1_softirq_s,
                 cpu0_softirq_s):
        self.sent, self.pps = sent, pps
        self.sender_s, self.ksoftirqd_s = sender_s, ksoftirqd_s
        self.cpu1_busy_s, self.cpu1_softirq_s = cpu1_busy_s, cpu1_softirq_s
        self.cpu0_softirq_s = cpu0_softirq_s


def send(pair, count, pps, length=64, flows=FLOWS, on_start=None):
    """pfsend on CPU 1 in namespace b (as run.generator, with FLOWS), its
    sending window measured (SendWindow).  on_start() runs once it is about
    to send (to read the consumer's CPU there)."""
    argv = ["taskset", "-c", "1", os.path.join(run.BIN, "pfsend"), "-i", pair.if_b,
            "-n", str(count), "-l", str(length), *flows, "-M", pair.mac_a.hex(":"), "--json"]
    if pps:
        argv += ["-p", str(pps)]
    tick = os.sysconf("SC_CLK_TCK")
    ksoft = _ksoftirqd(1)
    p = subprocess.Popen(pair.b.cmd(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=run._default_sigint)
    try:
        deadline = time.monotonic() + TIMEOUT
        line = ""
        while not line.startswith("Sending packets"):      # frames built, about to send
            line = p.stderr.readline()
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"pfsend did not start: {line!r} {p.stderr.read()[-300:]!r}")
        s0, k0, c0 = run.cpu_ns(p.pid), run.cpu_ns(ksoft) if ksoft else 0, _proc_stat_cpu(1)
        z0 = _proc_stat_cpu(0)
        if on_start:
            on_start()
        out = p.stdout.readline()                     # the final JSON, printed before exit
        s1, k1, c1 = run.cpu_ns(p.pid), run.cpu_ns(ksoft) if ksoft else 0, _proc_stat_cpu(1)
        z1 = _proc_stat_cpu(0)
        p.stderr.read()
        if p.wait(TIMEOUT) != 0:
            raise RuntimeError(f"pfsend exited with {p.returncode}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    sent = int(re.search(r'"sent": (\d+)', out).group(1))
    rate = sent / float(re.search(r'"duration_s": ([\d.]+)', out).group(1))
    return SendWindow(sent, rate, (s1 - s0) / 1e9, (k1 - k0) / 1e9,
                      (c1[0] - c0[0]) / tick, (c1[1] - c0[1]) / tick, (z1[1] - z0[1]) / tick)


_BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}
BPF_ENABLE_STATS, BPF_STATS_RUN_TIME = 32, 0


def enable_bpf_stats():
    """Turn on the kernel's run-time statistics of BPF programs for as long
    as the returned fd stays open (BPF_ENABLE_STATS: closing it, or our exit,
    turns them off again; no system setting is changed).  None if the
    kernel or the architecture does not allow it."""
    import ctypes
    import platform
    nr = _BPF_SYSCALL.get(platform.machine())
    if nr is None:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_uint32) * 4)
    ctypes.c_uint32.from_buffer(attr).value = BPF_STATS_RUN_TIME
    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(BPF_ENABLE_STATS), attr,
                      ctypes.c_uint(ctypes.sizeof(attr)))
    return fd if fd >= 0 else None


def socket_filter_stats(pid):
    """(run_time_ns, run_cnt) summed over the socket-filter eBPF programs
    whose fds pid holds (/proc/PID/fdinfo, then bpftool prog show), or None
    (no bpftool, or no such program: a classic filter has no statistics)."""
    import json
    if not shutil.which("bpftool"):
        return None
    ids = set()
    base = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(base):
        try:
            with open(os.path.join(base, fd)) as f:
                info = f.read()
        except OSError:
            continue
        m = re.search(r"^prog_type:\s+1$.*?^prog_id:\s+(\d+)", info, re.M | re.S)
        if m:                           # type 1: BPF_PROG_TYPE_SOCKET_FILTER
            ids.add(int(m.group(1)))
    if not ids:
        return None
    t = n = 0
    for i in ids:
        res = subprocess.run(["bpftool", "prog", "show", "id", str(i), "--json"],
                             capture_output=True, text=True, timeout=30)
        if res.returncode == 0:
            prog = json.loads(res.stdout)
            t += prog.get("run_time_ns", 0)
            n += prog.get("run_cnt", 0)
    return t, n


def rules_run(pair, name, spec, count, pps):
    """One run of one row (pps 0: full speed): a dict of the figures
    (seconds, counts)."""
    procs = run._start(pair, name, spec)
    cpu0, bpf0 = [], []

    def at_start():
        bpf0.append(socket_filter_stats(procs[0].pid))
        cpu0.append(run.cpu_ns(procs[0].pid))

    try:
        w = send(pair, count, pps, on_start=at_start)
        time.sleep(0.5)                       # the last block's 8 ms timer, and the count
        cpu = (run.cpu_ns(procs[0].pid) - cpu0[0]) / 1e9
        bpf1 = socket_filter_stats(procs[0].pid)
        rss = run.peak_rss_kb(procs[0].pid)
    finally:
        captured = run._stop(name, procs)
    bpf = (bpf1[0] - bpf0[0][0], bpf1[1] - bpf0[0][1]) if bpf1 and bpf0[0] else None
    return {"captured": captured, "bpf": bpf, "offered": w.sent, "pps": w.pps, "consumer_s": cpu,
            "sender_s": w.sender_s, "ksoftirqd_s": w.ksoftirqd_s, "cpu1_busy_s": w.cpu1_busy_s,
            "cpu1_softirq_s": w.cpu1_softirq_s, "cpu0_softirq_s": w.cpu0_softirq_s,
            "rss_kb": rss}


def per_pkt(runs, key):
    """ns per offered packet of one figure, per run."""
    return [1e9 * r[key] / r["offered"] for r in runs]


def measure(pair, specs):
    """name -> [run, ...], round robin over the rows."""
    out = {name: {"fixed": [], "max": []} for name in specs}
    for i in range(RUNS):
        for name, spec in specs.items():
            out[name]["fixed"].append(rules_run(pair, name, spec, COUNT, PPS))
            out[name]["max"].append(rules_run(pair, name, spec, MAX_COUNT, 0))
        print(f"rules round {i + 1} of {RUNS} done", flush=True)
    return out


def _ratio_line(text, a_name, a, b_name, b):
    """A target line: a < b, with the ratio of the medians and both figures."""
    ma, mb = report.med(a), report.med(b)
    ratio = ma / mb if mb else float("inf")
    verdict = "met" if ma < mb else f"MISSED by {100 * (ratio - 1):.0f}%"
    overlap = max(min(a), min(b)) <= min(max(a), max(b))
    return (f"- {text}: {verdict}: ratio {ratio:.2f} = {a_name} {report.fmt3(a)} ns / "
            f"{b_name} {report.fmt3(b)} ns per offered packet" +
            ("; the min..max ranges overlap, so the difference is within this machine's "
             "run-to-run spread." if overlap else "."))


def load_note(facts):
    """A sentence for the section's text when the machine was busy."""
    loads = [float(x.split()[0]) for x in (facts["load_before"], facts["load_after"])]
    if max(loads) <= 1:
        return ""
    return ("  The machine was busy: a load average above 1 on 2 CPUs (this part's own sender "
            "and consumer count in the 'after' figure, the part run just before in the "
            "'before' one; the rest is other work, such as other test runs), so the figures "
            "are noisier than on an idle machine and the /proc/stat ones include that other "
            "work: compare the min..max ranges.")


def both_sides(runs):
    """Consumer + sender + ksoftirqd/1, ns per offered packet, per run."""
    return [1e9 * (r["consumer_s"] + r["sender_s"] + r["ksoftirqd_s"]) / r["offered"]
            for r in runs]


def delivered(name, runs, count):
    want = round(ROWS[name][1] * count)
    caps = sorted({r["captured"] for r in runs})
    return (f"{', '.join(f'{c:,}' for c in caps)} "
            f"({'exact' if caps == [want] else f'expected {want:,}'})")


def bpf_cell(runs):
    """The socket filter program's own time per run, from the kernel's BPF
    run-time statistics, and its runs per offered packet."""
    got = [r for r in runs if r.get("bpf") and r["bpf"][1]]
    if not got:
        return "-"
    per = [r["bpf"][0] / r["bpf"][1] for r in got]
    share = sorted({round(r["bpf"][1] / r["offered"], 3) for r in got})
    return f"{report.fmt3(per)} ({', '.join(f'{x:g}' for x in share)})"


def section_lines(res, facts):
    """The `## Filtering rules` section of RESULTS.md."""
    F = report.fmt3
    lines = [
        "## Filtering rules: CPU per packet (bench/rules.py)", "",
        f"Written by `BENCH_PARTS=rules` on {facts['date']}.  Machine: {facts['machine']}; "
        f"load average {facts['load_before']} before, {facts['load_after']} after."
        f"{load_note(facts)}", "",
        f"Traffic: pfsend on CPU 1, 64-byte UDP frames of {N_SRC * N_DST * N_PORTS:,} flows "
        f"({N_SRC} sources x {N_DST} destinations x {N_PORTS} source ports "
        f"{SPORT0}..{SPORT0 + N_PORTS - 1}, sent round robin with the port varying fastest), so "
        f"a rule on source ports {SPORT0}..{SPORT0 + N_PORTS - 2} matches exactly 9 frames in "
        "10.  The consumer (CPU 0) is one Python script: a Ring "
        f"({BUFFER // 1024 // 1024} MiB, so that a busy machine's scheduling does not drop), "
        "the row's rules added with `Ring.add_rule`/`add_hash_rule` (or `set_bpf_filter`) "
        "before `enable`, then `Ring.recv_count` (the C count path, nothing per packet in "
        f"Python) until it is stopped.  Median of {RUNS} runs (min..max), round robin over "
        "the rows.", "",
        "Every CPU figure is per packet **offered** (sent), not per packet delivered.  "
        "Consumer: all its threads' CPU time (schedstat) from the sender's first frame to "
        "0.5 s after its last.  On a veth pair the receive side (veth's backlog, the socket "
        "filter with the rules program, the copy into the ring, and the namespace's IP "
        "stack, which drops these frames) runs in the softirq that the sender's transmit "
        "raises, on the sender's CPU: with no IRQ time accounting in this kernel it is "
        "charged to the sender (pfsend: its CPU from its `Sending` line to its final line) "
        "or, when deferred, to ksoftirqd/1.  So the kernel's filtering cost is on CPU 1, in "
        "the sender's and ksoftirqd's columns, and the consumer (CPU 0) pays only for what "
        "reaches its ring.  CPU 1 softirq: /proc/stat's softirq ticks of CPU 1 "
        f"(in 1/{os.sysconf('SC_CLK_TCK')} s units, sampled at the kernel's ticks: "
        "coarse).  Socket filter program: the kernel's own BPF "
        "run-time statistics (BPF_ENABLE_STATS, held only while the part runs; `bpftool "
        "prog show`) of the eBPF socket filter the consumer's ring runs (the rules program; "
        "a classic filter, as the plain expression's, has no such statistics), ns per run and runs per offered packet (just under 1: the statistics are read as "
        "the sender starts, a few ms after its first frames): a part of the sender's column, "
        "the cost of the filtering itself.", "",
        "The user-space row: the fair way to deliver everything and discard 90% in user space "
        "is the same compiled expression run by libpfring in the receive path "
        "(`Flags.USERSPACE_BPF`), in C, as the other rows count in C; a Python test per "
        "packet would measure the interpreter instead.  Its consumer counts only the 10% the "
        "filter keeps.  `no_rules` is the other bound: everything delivered and counted.",
        "",
        f"### Fixed rate: {COUNT:,} frames at {PPS:,} pps", "",
        "| row | delivered | consumer CPU ns / pkt | sender CPU ns / pkt (receive softirq "
        "included) | ksoftirqd/1 ns / pkt | both sides ns / pkt | softirq ns / pkt, CPU 1 / CPU 0 "
        "(/proc/stat) | offered pps | peak RSS (MiB) | socket filter program: ns / run "
        "(runs / offered) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rr in res.items():
        runs = rr["fixed"]
        lines.append(
            f"| {name}: {ROWS[name][0]} | {delivered(name, runs, COUNT)} | "
            f"{F(per_pkt(runs, 'consumer_s'))} | {F(per_pkt(runs, 'sender_s'))} | "
            f"{F(per_pkt(runs, 'ksoftirqd_s'))} | {F(both_sides(runs))} | "
            f"{F(per_pkt(runs, 'cpu1_softirq_s'))} / {F(per_pkt(runs, 'cpu0_softirq_s'))} | "
            f"{F([r['pps'] for r in runs])} | "
            f"{F([r['rss_kb'] / 1024 for r in runs], '{:.1f}')} | {bpf_cell(runs)} |")
    lines += ["", f"### Full speed: {MAX_COUNT:,} frames, the generator unpaced", "",
              "The generator's full speed here is bounded by its transmit ring (it pauses when "
              "the ring is full) and by the other work on CPU 1, not by CPU 1's time alone, so "
              "the offered rate is given but the CPU figures are the measured ones.  A row "
              "that delivers less than its share dropped in the ring (the consumer fell "
              "behind).", "",
              "| row | delivered | offered pps | consumer CPU ns / pkt | sender CPU ns / pkt | "
              "ksoftirqd/1 ns / pkt | both sides ns / pkt |",
              "|---|---|---|---|---|---|---|"]
    for name, rr in res.items():
        runs = rr["max"]
        lines.append(
            f"| {name} | {delivered(name, runs, MAX_COUNT)} | {F([r['pps'] for r in runs])} | "
            f"{F(per_pkt(runs, 'consumer_s'))} | {F(per_pkt(runs, 'sender_s'))} | "
            f"{F(per_pkt(runs, 'ksoftirqd_s'))} | {F(both_sides(runs))} |")
    lines += ["", "Targets (issue 19: dropping by rule must cost less per packet than "
              "delivering the packet and discarding it in user space), on the fixed-rate "
              "runs, and on both sides at full speed:", ""]
    if "drop90_rule" in res and "drop90_user" in res:
        rule, user = res["drop90_rule"], res["drop90_user"]
        lines.append(_ratio_line("consumer CPU (CPU 0), drop by rule < deliver and discard in "
                                 "user space", "drop90_rule", per_pkt(rule["fixed"], "consumer_s"),
                                 "drop90_user", per_pkt(user["fixed"], "consumer_s")))
        lines.append(_ratio_line("both sides (consumer + sender + ksoftirqd/1), drop by rule < "
                                 "deliver and discard in user space",
                                 "drop90_rule", both_sides(rule["fixed"]), "drop90_user",
                                 both_sides(user["fixed"])))
        lines.append(_ratio_line("both sides at full speed, drop by rule < deliver and discard "
                                 "in user space", "drop90_rule", both_sides(rule["max"]),
                                 "drop90_user", both_sides(user["max"])))
    if "drop90_rule" in res and "drop90_bpf" in res:
        lines.append(_ratio_line("informative: both sides, drop by rule against the same drop "
                                 "by the BPF expression in the kernel (below 1: the rule is "
                                 "cheaper)", "drop90_rule", both_sides(res["drop90_rule"]["fixed"]),
                                 "drop90_bpf", both_sides(res["drop90_bpf"]["fixed"])))
    lines += ["", "Commands:", "", "```",
              "BENCH_PARTS=rules bench/run.py   # or bench/rules.py; BENCH_RUNS BENCH_RULES_PPS "
              "BENCH_RULES_COUNT BENCH_RULES_MAX_COUNT BENCH_ONLY=row,row (prints only)",
              f"pfsend -i veth1 -n {COUNT}|{MAX_COUNT} -l 64 {' '.join(FLOWS)} [-p {PPS}] -M MAC "
              "--json   # taskset -c 1, namespace b",
              "python rules_consumer.py veth0 ROW ...   # taskset -c 0: Ring, the row's rules, "
              "Ring.recv_count until SIGINT",
              "```"]
    return lines


write_section = run.write_section
facts_now = run.facts_now


def main():
    def body(pair, tmp, only):
        stats_fd = enable_bpf_stats()
        try:
            specs = consumer_specs(tmp, pair.if_a)
            if only:
                specs = {n: s for n, s in specs.items() if n in only}
            res = measure(pair, specs)
        finally:
            if stats_fd is not None:
                os.close(stats_fd)
        return lambda facts: section_lines(res, facts)
    return run.part_main("rules", "## Filtering rules", body)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
