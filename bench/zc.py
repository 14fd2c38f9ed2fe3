"""bench zc (BENCH_PARTS=zc, or bench/zc.py alone): zc: (AF_XDP) rings and
AF_PACKET rings side by side on the same veth traffic, with the same
consumers.

Consumers (CONSUMERS), each run on DEV = veth0 (AF_PACKET) and on
zc:veth0 (AF_XDP in copy mode: veth runs XDP natively but has no
zero-copy AF_XDP): pfcount, run.py's Ring.recv_batch script, and tcpdump
through libpcap-pfring (pfring-run's environment).  The traffic is run.py's
(pfsend on CPU 1, 256 flows); the consumer runs on CPU 0.

- fixed rate (COUNT frames at PPS): CPU per packet of the consumer, of the
  sender and of ksoftirqd/1 (rules.send: on a veth pair the receive side
  -- veth's NAPI with the XDP program and the copy into the UMEM for zc:,
  the backlog, packet socket and copy into the ring for AF_PACKET -- runs in
  the softirq the sender's transmit raises, on CPU 1), and the softirq
  ticks of both CPUs from /proc/stat: which side pays each cost;
- sustained rate (MAX_COUNT frames, the generator unpaced): offered and
  captured pps, drop %;
- drain (run.drain_run): the consumer stopped once ready, its ring filled
  with DRAIN_COUNT frames, then the time until it has counted them; both
  rings hold SLOTS packets (PF_RING_MIN_NUM_SLOTS: slots of an AF_PACKET
  ring, 4 KiB frames of the zc: UMEM);
- system calls per packet of pfcount and Ring.recv_batch on both rings
  (run.syscalls_per_packet, one run each).
"""
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import report  # noqa: E402
import rules  # noqa: E402
import run  # noqa: E402

from pcap_pfring.testing.compat import route_env  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PPS = int(os.environ.get("BENCH_ZC_PPS", "100000"))
COUNT = int(os.environ.get("BENCH_ZC_COUNT", "300000"))
MAX_COUNT = int(os.environ.get("BENCH_ZC_MAX_COUNT", "500000"))
DRAIN_COUNT = int(os.environ.get("BENCH_ZC_DRAIN_COUNT", "50000"))
SLOTS = 65536
STRACE_COUNT = 100000             # frames of the strace run, at run.FIXED_PPS
FLOWS = ("-b", "16", "-c", "16")
CONSUMERS = ("pfcount", "ring_batch", "tcpdump_pfring")


def devices(dev):
    return {"af_packet": dev, "zc": f"zc:{dev}"}


def specs(tmp, dev):
    """(consumer, side) -> the (argv, env, kind, copies) run._start takes."""
    path = os.path.join(tmp, "ring_batch.py")
    with open(path, "w") as f:
        f.write(run.RING_BATCH)
    out = {}
    for side, d in devices(dev).items():
        out[("pfcount", side)] = ([os.path.join(run.BIN, "pfcount"), "-i", d, "-e", "1", "-l",
                                   "128", "-d", str(rules.TIMEOUT), "--json", "-q"], None, "c", 1)
        out[("ring_batch", side)] = ([sys.executable, path, d], None, "c", 1)
        out[("tcpdump_pfring", side)] = (["tcpdump", "-i", d, "-Q", "in", "-s", "128", "-w",
                                          "/dev/null"], route_env("ring"), "c", 1)
    return out


def drain_specs(tmp, dev):
    """(consumer, side) -> the (argv, env, stream, pattern) run.drain_run takes."""
    n = str(DRAIN_COUNT)
    path = os.path.join(tmp, "ring_batch.py")
    env = dict(os.environ, PF_RING_MIN_NUM_SLOTS=str(SLOTS), PF_RING_BLOCK_TIMEOUT_MS="1000")
    out = {}
    for side, d in devices(dev).items():
        out[("pfcount", side)] = ([os.path.join(run.BIN, "pfcount"), "-i", d, "-e", "1", "-l",
                                   "128", "-N", n, "-d", str(rules.TIMEOUT), "--json", "-q"],
                                  env, "err", r"^(Leaving)\.\.\.")
        out[("ring_batch", side)] = ([sys.executable, path, d, n, "0"], env, "out",
                                     r"^(\d+)( \d+ \d+)?$")
        out[("tcpdump_pfring", side)] = (["tcpdump", "-i", d, "-Q", "in", "-s", "128", "-w",
                                          "/dev/null", "-c", n], route_env("ring", base=env),
                                         "err", r"^(\d+) packets captured")
    return out


def zc_run(pair, name, spec, count, pps):
    """One run: the consumer's, the sender's and ksoftirqd/1's CPU and the
    softirq ticks over the sending window, and what it captured."""
    procs = run._start(pair, name, spec)
    cpu0 = []
    try:
        w = rules.send(pair, count, pps, flows=FLOWS,
                       on_start=lambda: cpu0.append(run.cpu_ns(procs[0].pid)))
        time.sleep(run.TCPDUMP_DRAIN if name.startswith("tcpdump") else 0.5)
        cpu = (run.cpu_ns(procs[0].pid) - cpu0[0]) / 1e9
        rss = run.peak_rss_kb(procs[0].pid)
    finally:
        captured = run._stop(name, procs)
    return {"captured": captured, "offered": w.sent, "pps": w.pps, "consumer_s": cpu,
            "sender_s": w.sender_s, "ksoftirqd_s": w.ksoftirqd_s,
            "cpu1_softirq_s": w.cpu1_softirq_s, "cpu0_softirq_s": w.cpu0_softirq_s,
            "rss_kb": rss}


def measure(pair, table, drains):
    res = {key: {"fixed": [], "max": [], "drain": [], "drain_errors": []} for key in table}
    run.DRAIN_COUNT = DRAIN_COUNT     # run.drain_run fills and checks this many
    for i in range(RUNS):
        for key, spec in table.items():
            name = key[0]
            res[key]["fixed"].append(zc_run(pair, name, spec, COUNT, PPS))
            res[key]["max"].append(zc_run(pair, name, spec, MAX_COUNT, 0))
            for attempt in (1, 2):
                try:
                    res[key]["drain"].append(run.drain_run(pair, name, drains[key], None))
                    break
                except RuntimeError as e:
                    print(f"bench zc: drain of {key} failed (attempt {attempt}): {e}",
                          flush=True)
                    res[key]["drain_errors"].append(str(e)[:300])
        print(f"zc round {i + 1} of {RUNS} done", flush=True)
    return res


def section_lines(res, facts, strace):
    F = report.fmt3
    lines = [
        "## zc: (AF_XDP) against AF_PACKET rings (bench/zc.py)", "",
        f"Written by `BENCH_PARTS=zc` on {facts['date']}.  Machine: {facts['machine']}; load "
        f"average {facts['load_before']} before, {facts['load_after']} after."
        f"{rules.load_note(facts)}", "",
        "The same consumers on `veth0` (AF_PACKET, libpfring's default ring) and on "
        "`zc:veth0` (AF_XDP: libpfring's XDP program redirects every frame to the socket, "
        "in copy mode since veth has no zero-copy AF_XDP, into a UMEM of 4 KiB frames): "
        "pfcount, `Ring.recv_batch` (run.py's script, counting `len(batch)`) and tcpdump "
        "through libpcap-pfring.  Traffic: pfsend on CPU 1, 64-byte frames of 256 flows; "
        f"the consumer on CPU 0.  Median of {RUNS} runs (min..max), round robin.", "",
        "Which side pays: on a veth pair the receive side runs in the softirq the sender's "
        "transmit raises, on the sender's CPU (CPU 1): for AF_PACKET veth's backlog, the "
        "packet socket and the copy into the ring; for zc: veth's NAPI poll, the XDP "
        "program and the copy into the UMEM (and these frames skip the namespace's IP "
        "stack, which the AF_PACKET side still runs after the copy).  With no IRQ time "
        "accounting in this kernel that work is charged to the sender or to ksoftirqd/1; "
        "the /proc/stat softirq ticks (tick-sampled, coarse) show on which CPU it ran.  "
        "The consumer's column is CPU 0's side.  CPU figures are per packet offered.", "",
        f"### Fixed rate: {COUNT:,} frames at {PPS:,} pps", "",
        "| consumer | ring | captured (of offered) | consumer CPU ns / pkt (CPU 0) | sender "
        "CPU ns / pkt (CPU 1, receive softirq included) | ksoftirqd/1 ns / pkt | softirq ns "
        "/ pkt, CPU 1 / CPU 0 | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (name, side), r in res.items():
        runs = r["fixed"]
        caps = sorted({x["captured"] for x in runs})
        lines.append(
            f"| {name} | {side} | {', '.join(f'{c:,}' for c in caps)} "
            f"({'exact' if caps == [COUNT] else f'of {COUNT:,}'}) | "
            f"{F(rules.per_pkt(runs, 'consumer_s'))} | {F(rules.per_pkt(runs, 'sender_s'))} | "
            f"{F(rules.per_pkt(runs, 'ksoftirqd_s'))} | "
            f"{F(rules.per_pkt(runs, 'cpu1_softirq_s'))} / "
            f"{F(rules.per_pkt(runs, 'cpu0_softirq_s'))} | "
            f"{F([x['rss_kb'] / 1024 for x in runs], '{:.1f}')} |")
    lines += ["", f"### Sustained rate: {MAX_COUNT:,} frames, the generator unpaced", "",
              "Captured pps: captured x offered pps / offered, over the sending window.", "",
              "| consumer | ring | offered pps | captured pps | drop % | consumer CPU ns / pkt "
              "| sender CPU ns / pkt |", "|---|---|---|---|---|---|---|"]
    for (name, side), r in res.items():
        runs = r["max"]
        cap = [x["captured"] * x["pps"] / x["offered"] for x in runs]
        drop = [100.0 * (x["offered"] - x["captured"]) / x["offered"] for x in runs]
        lines.append(f"| {name} | {side} | {F([x['pps'] for x in runs])} | {F(cap)} | "
                     f"{F(drop, '{:.1f}')} | {F(rules.per_pkt(runs, 'consumer_s'))} | "
                     f"{F(rules.per_pkt(runs, 'sender_s'))} |")
    lines += ["", f"### Drain: {DRAIN_COUNT:,} frames in a stopped consumer's ring", "",
              f"Both rings hold {SLOTS:,} packets (`PF_RING_MIN_NUM_SLOTS={SLOTS}`: slots of "
              "the AF_PACKET ring, 256 KiB blocks with a 1 s retire timeout; 4 KiB frames of "
              "the zc: UMEM).  run.py's drain: the consumer is stopped (SIGSTOP) once ready, "
              "its ring filled at the generator's full speed, SIGCONT 1.5 s later, and the "
              "time taken until it prints that it has counted them all.  A drain of this size takes "
              "a few milliseconds, so one scheduling delay or wake-up more or less moves a "
              "run's figure a lot: read the min..max.  The CPU column is weaker still: a running "
              "task's schedstat is brought up to date only at a tick or a switch (every 4 ms "
              "at this kernel's 250 Hz), which is longer than some of these drains (hence "
              "minima near 0).", "",
              "| consumer | ring | drain (Mpps) | CPU ns / packet | runs |", "|---|---|---|---|---|"]
    for (name, side), r in res.items():
        d = r["drain"]
        if d:
            lines.append(f"| {name} | {side} | "
                         f"{F([x / 1e6 for x in report.drain_pps(d)], '{:.2f}')} | "
                         f"{F(report.drain_cpu_per_pkt(d), '{:.1f}')} | {len(d)} |")
        else:
            lines.append(f"| {name} | {side} | failed: {r['drain_errors'][-1][:160]} | - | 0 |")
    errs = [(k, e) for k, r in res.items() for e in r["drain_errors"]]
    if errs:
        lines += ["", f"Drain runs retried or failed: {len(errs)} (" + "; ".join(
            f"{k[0]}/{k[1]}" for k, _ in errs) + ")."]
    if strace:
        lines += ["", f"### System calls per captured packet ({STRACE_COUNT:,} frames at "
                  f"{run.FIXED_PPS:,} pps)", "",
                  "run.py's method: `strace -c -f` attached once the consumer is ready, "
                  "detached 0.5 s after the last frame (one run each).", "",
                  "| consumer | ring | system calls | packets | per packet | most frequent |",
                  "|---|---|---|---|---|---|"]
        for (name, side), (calls, captured, per, top) in strace.items():
            most = ", ".join(f"{sc} {c:,}" for c, sc in top[:3])
            lines.append(f"| {name} | {side} | {calls:,} | {captured:,} | {per:.4f} | {most} |")
    lines += ["", "Comparisons, zc: / AF_PACKET (ratios of medians, with both figures):", ""]
    for name in CONSUMERS:
        a, b = res.get((name, "zc")), res.get((name, "af_packet"))
        if not a or not b:
            continue
        for text, pick in (("consumer CPU at the fixed rate",
                            lambda r: rules.per_pkt(r["fixed"], "consumer_s")),
                           ("sender CPU (CPU 1) at the fixed rate",
                            lambda r: rules.per_pkt(r["fixed"], "sender_s")),
                           ("captured pps unpaced", lambda r: [
                               x["captured"] * x["pps"] / x["offered"] for x in r["max"]])):
            x, y = pick(a), pick(b)
            lines.append(f"- {name}, {text}: {report.med(x) / report.med(y):.2f} = "
                         f"{F(x)} / {F(y)}.")
        if a["drain"] and b["drain"]:
            x, y = report.drain_pps(a["drain"]), report.drain_pps(b["drain"])
            lines.append(f"- {name}, drain pps: {report.med(x) / report.med(y):.2f} = "
                         f"{F(x)} / {F(y)}.")
    lines += ["", "Commands:", "", "```",
              "BENCH_PARTS=zc bench/run.py   # or bench/zc.py; BENCH_RUNS BENCH_ZC_PPS "
              "BENCH_ZC_COUNT BENCH_ZC_MAX_COUNT BENCH_ZC_DRAIN_COUNT",
              "pfsend -i veth1 -n N -l 64 -b 16 -c 16 [-p PPS] -M MAC --json   # taskset -c 1",
              "pfcount -i veth0|zc:veth0 -e 1 -l 128 -d T --json -q [-N N]   # taskset -c 0",
              "python ring_batch.py veth0|zc:veth0 [N 0]   # run.py's Ring.recv_batch script",
              "pfring-run tcpdump -i veth0|zc:veth0 -Q in -s 128 -w /dev/null [-c N]",
              f"PF_RING_MIN_NUM_SLOTS={SLOTS} PF_RING_BLOCK_TIMEOUT_MS=1000   # the drain runs",
              "```"]
    return lines


def main():
    def body(pair, tmp, only):
        table, drains = specs(tmp, pair.if_a), drain_specs(tmp, pair.if_a)
        if only:
            table = {k: s for k, s in table.items() if k[0] in only}
        res = measure(pair, table, drains)
        strace = {}
        if shutil.which("strace"):
            for key in [k for k in table if k[0] in ("pfcount", "ring_batch")]:
                strace[key] = run.syscalls_per_packet(pair, key[0], table[key], STRACE_COUNT,
                                                      tmp)
        return lambda facts: section_lines(res, facts, strace)
    return run.part_main("zc", "## zc: (AF_XDP)", body)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
