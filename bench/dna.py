"""bench dna (BENCH_PARTS=dna, or bench/dna.py alone): the DNA cluster's
master and slaves against a kernel fanout cluster of the same size.

Setups (SETUPS), on the same traffic (pfsend on CPU 1: 256 flows, 16
sources x 16 destinations, as run.py's generator, at a fixed rate):

  dna_2          pfbalance -i veth0 -c ID -n 2, slaves pfcount -i dnacluster:ID@0 and @1
  dna_2_1        pfbalance -n 2,1: apps 0-1 share per flow, app 2 gets everything
  kernel_2       two pfcount -i veth0 -c ID members (cluster per flow, 5-tuple)
  kernel_2_1     the same two and one standalone pfcount (the fan-out's third app)

Every process of the consumer side runs on CPU 0 (the generator has CPU 1
to itself with the receive softirq it raises).  Over the sending window
each process's CPU time (schedstat, every thread) per packet offered; the
sender's too (rules.send: on a veth pair the kernel's receive work, the
fanout program and the copies into the rings included, runs in the
sender's softirq on CPU 1).  Memory, read once the traffic is over and
before the processes stop: PSS from /proc/PID/smaps_rollup (shared pages
divided among the processes that map them, so the DNA cluster's shared
file is counted once over the master and its slaves), RSS beside it, the
rings' `Tot Memory` from the status tree, and the cluster file's size and
the part of it touched (/dev/shm).
"""
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import report  # noqa: E402
import rules  # noqa: E402  (the measured sender, the section writer)
import run  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PPS = int(os.environ.get("BENCH_DNA_PPS", "100000"))
COUNT = int(os.environ.get("BENCH_DNA_COUNT", "300000"))
FLOWS = ("-b", "16", "-c", "16")
DNA_ID, KERNEL_ID = 3301, 3302
PFCOUNT = os.path.join(run.BIN, "pfcount")
PFBALANCE = os.path.join(run.BIN, "pfbalance")

# name -> (what it is, the master's -n or None, the number of slaves/members
# that share per flow, fan-out copies: the share of the offered frames delivered)
SETUPS = {
    "dna_2": ("DNA cluster, 2 slaves per flow (pfbalance -n 2)", "2", 2, 1),
    "dna_2_1": ("DNA cluster, 2 slaves per flow + 1 that gets everything (pfbalance -n 2,1)",
                "2,1", 3, 2),
    "kernel_2": ("kernel fanout cluster of 2 (pfcount -c, per flow)", None, 2, 1),
    "kernel_2_1": ("kernel fanout cluster of 2 + 1 standalone pfcount", None, 3, 2),
}


class Proc:
    """One process of a setup, its output read by threads (run._lines)."""

    def __init__(self, pair, role, argv, env, ready):
        self.role = role
        self.p = subprocess.Popen(pair.a.cmd(["taskset", "-c", "0", *argv]), env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  preexec_fn=run._default_sigint)
        self.q, self.seen = run._lines(self.p), []
        run._wait_line(self.q, self.p, role, "err", ready, 30, self.seen)

    def stop(self):
        """SIGINT, reap (SIGKILL after 20 s); (stdout, stderr)."""
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGINT)
        if not run._reap(self.p, 20):
            self.p.kill()
            self.p.wait()
        ended = 0
        while ended < 2:
            _, tag, line = self.q.get(timeout=10)
            if line is None:
                ended += 1
            else:
                self.seen.append((tag, line))
        return ("".join(x for t, x in self.seen if t == "out"),
                "".join(x for t, x in self.seen if t == "err"))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def pss_kb(pid):
    """(Pss, Rss) in kB from /proc/PID/smaps_rollup."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        text = f.read()
    return (int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1)),
            int(re.search(r"^Rss:\s+(\d+)", text, re.M).group(1)))


def ring_memory(status, pid):
    """The Tot Memory of each ring of pid in the status tree (bytes)."""
    from pcap_pfring import status as tree
    return [int(r.fields["Tot Memory"]) for r in tree.list_rings(status)
            if r.pid == pid and "Tot Memory" in r.fields]


def start_setup(pair, name, env):
    """The processes of one setup, master first, each ready."""
    _, groups, n, _ = SETUPS[name]
    member = [PFCOUNT, "-l", "128", "-d", str(rules.TIMEOUT), "--json"]
    procs = []
    try:
        if groups:
            procs.append(Proc(pair, "master", [PFBALANCE, "-i", pair.if_a, "-c", str(DNA_ID),
                                               "-n", groups, "-d", str(rules.TIMEOUT)], env,
                              r"^Distributing"))
            for app in range(n):
                procs.append(Proc(pair, f"slave@{app}", [*member, "-i",
                                                         f"dnacluster:{DNA_ID}@{app}"],
                                  env, r"^# Polling threads"))
        else:
            for i in range(2):
                procs.append(Proc(pair, f"member{i}", [*member, "-i", pair.if_a, "-e", "1",
                                                       "-c", str(KERNEL_ID)], env,
                                  r"^# Polling threads"))
            if n == 3:
                procs.append(Proc(pair, "standalone", [*member, "-i", pair.if_a, "-e", "1"],
                                  env, r"^# Polling threads"))
    except BaseException:
        for p in procs:
            p.kill()
        raise
    return procs


def shm_file():
    """(size, touched) bytes of the DNA cluster's file, or None."""
    path = f"/dev/shm/pfring-dnacluster-{DNA_ID}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_blocks * 512


def dna_run(pair, name, status):
    """One run of one setup: a dict of its figures."""
    env = dict(os.environ, PF_RING_STATUS_DIR=status)
    procs = start_setup(pair, name, env)
    try:
        cpu0 = []
        time.sleep(0.3)
        w = rules.send(pair, COUNT, PPS, flows=FLOWS,
                       on_start=lambda: cpu0.extend(run.cpu_ns(p.p.pid) for p in procs))
        time.sleep(0.5)
        cpu = [(run.cpu_ns(p.p.pid) - c) / 1e9 for p, c in zip(procs, cpu0)]
        mem = [pss_kb(p.p.pid) for p in procs]
        rings = [ring_memory(status, p.p.pid) for p in procs]
        shm = shm_file()
        outs = [p.stop() for p in reversed(procs)][::-1]   # slaves before their master
    finally:
        for p in procs:
            p.kill()
    got = {}
    for p, (out, err) in zip(procs, outs):
        if p.role != "master":
            m = re.search(r'"recv": (\d+)', out)
            if not m:
                raise RuntimeError(f"{name} {p.role}: no count in {out[-300:]!r} {err[-300:]!r}")
            got[p.role] = int(m.group(1))
    return {"roles": [p.role for p in procs], "cpu_s": cpu, "mem_kb": mem, "rings": rings,
            "shm": shm, "got": got, "offered": w.sent, "pps": w.pps, "sender_s": w.sender_s,
            "ksoftirqd_s": w.ksoftirqd_s}


def measure(pair, names, status):
    out = {name: [] for name in names}
    for i in range(RUNS):
        for name in names:
            out[name].append(dna_run(pair, name, status))
        print(f"dna round {i + 1} of {RUNS} done", flush=True)
    return out


def _per_pkt(runs, pick):
    return [1e9 * pick(r) / r["offered"] for r in runs]


def consumer_total(r):
    return sum(r["cpu_s"])


def role_cpu(role):
    return lambda r: r["cpu_s"][r["roles"].index(role)]


def slaves_cpu(r):
    return sum(c for c, role in zip(r["cpu_s"], r["roles"]) if role != "master")


def section_lines(res, facts):
    F = report.fmt3
    lines = [
        "## DNA cluster against a kernel fanout cluster (bench/dna.py)", "",
        f"Written by `BENCH_PARTS=dna` on {facts['date']}.  Machine: {facts['machine']}; load "
        f"average {facts['load_before']} before, {facts['load_after']} after."
        f"{rules.load_note(facts)}", "",
        f"Traffic: pfsend on CPU 1, {COUNT:,} 64-byte UDP frames at {PPS:,} pps, 256 flows "
        "(16 sources x 16 destinations, as the other tables).  Every process of the consumer "
        "side (the master and its slaves, or the cluster members) runs on CPU 0; the slaves "
        "and members are unmodified pfcount (`-l 128 --json`), the master is pfbalance "
        "(passive wait).  CPU: each process's CPU time (schedstat, all threads) from the "
        "sender's first frame to 0.5 s after its last, per packet **offered**.  Sender: "
        "pfsend's CPU time over the same window; on a veth pair the kernel's receive work "
        "(for the kernel cluster the fanout program and a copy into each member's ring; for "
        "the DNA cluster one copy into the master's ring) runs in the softirq the sender's "
        "transmit raises, on CPU 1, charged to the sender or to ksoftirqd/1 (no IRQ time "
        "accounting in this kernel).  The DNA master then copies each packet once more, in "
        f"user space on CPU 0, into the cluster's shared pool.  Median of {RUNS} runs "
        "(min..max), round robin over the setups.", "",
        "Memory, read after the traffic and before the processes stop: PSS "
        "(/proc/PID/smaps_rollup: each shared page divided among the processes that map it, "
        "so the cluster's shared file counts once over the master and its slaves, and the "
        "interpreter's shared libraries are split alike on both sides), with RSS beside it; "
        "the rings' `Tot Memory` from the status tree (kernel rings of the master and of "
        "each member; a DNA slave has no kernel ring); the cluster file in /dev/shm: its "
        "size and the part of it touched.", "",
        "| setup | delivered (of offered) | consumer side CPU ns / pkt | master | slaves / "
        "members | sender + ksoftirqd/1 ns / pkt (CPU 1) | both sides ns / pkt | PSS total "
        "(MiB) | RSS total (MiB) | rings' Tot Memory (MiB) | /dev/shm file, size / touched "
        "(MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in res.items():
        want = COUNT * SETUPS[name][3]
        tot = sorted({sum(r["got"].values()) for r in runs})
        split = "; ".join(f"{k} {v:,}" for k, v in runs[-1]["got"].items())
        deliv = (f"{', '.join(f'{t:,}' for t in tot)} "
                 f"({'exact' if tot == [want] else f'expected {want:,}'}; last run: {split})")
        master = F(_per_pkt(runs, role_cpu("master"))) if "master" in runs[0]["roles"] else "-"
        both = _per_pkt(runs, lambda r: consumer_total(r) + r["sender_s"] + r["ksoftirqd_s"])
        pss = [sum(m[0] for m in r["mem_kb"]) / 1024 for r in runs]
        rss = [sum(m[1] for m in r["mem_kb"]) / 1024 for r in runs]
        ring = [sum(sum(x) for x in r["rings"]) / 2**20 for r in runs]
        shm = runs[-1]["shm"]
        shm_text = f"{shm[0] / 2**20:.1f} / {shm[1] / 2**20:.1f}" if shm else "-"
        lines.append(
            f"| {name}: {SETUPS[name][0]} | {deliv} | {F(_per_pkt(runs, consumer_total))} | "
            f"{master} | {F(_per_pkt(runs, slaves_cpu))} | "
            f"{F(_per_pkt(runs, lambda r: r['sender_s'] + r['ksoftirqd_s']))} | {F(both)} | "
            f"{F(pss, '{:.1f}')} | {F(rss, '{:.1f}')} | {F(ring, '{:.1f}')} | {shm_text} |")
    lines += ["", "Per process (median CPU ns per offered packet; PSS MiB):", ""]
    for name, runs in res.items():
        parts = []
        for i, role in enumerate(runs[0]["roles"]):
            cpu = F(_per_pkt(runs, lambda r, i=i: r["cpu_s"][i]))
            pss = report.med([r["mem_kb"][i][0] / 1024 for r in runs])
            parts.append(f"{role} {cpu} ns, {pss:.1f} MiB")
        lines.append(f"- {name}: " + "; ".join(parts) + ".")
    lines += ["", "Comparisons (each a ratio of medians, with the two figures it comes from):",
              ""]
    for dna, kern in (("dna_2", "kernel_2"), ("dna_2_1", "kernel_2_1")):
        if dna in res and kern in res:
            for text, pick in (
                    ("consumer side (CPU 0)", consumer_total),
                    ("both sides (CPU 0 + sender and ksoftirqd/1 on CPU 1)",
                     lambda r: consumer_total(r) + r["sender_s"] + r["ksoftirqd_s"])):
                a, b = _per_pkt(res[dna], pick), _per_pkt(res[kern], pick)
                lines.append(f"- {text}, {dna} / {kern}: ratio {report.med(a) / report.med(b):.2f}"
                             f" = {F(a)} ns / {F(b)} ns per offered packet.")
            a = [sum(m[0] for m in r["mem_kb"]) / 1024 for r in res[dna]]
            b = [sum(m[0] for m in r["mem_kb"]) / 1024 for r in res[kern]]
            lines.append(f"- PSS, {dna} / {kern}: ratio {report.med(a) / report.med(b):.2f} = "
                         f"{F(a, '{:.1f}')} MiB / {F(b, '{:.1f}')} MiB.")
    lines += ["", "Commands:", "", "```",
              "BENCH_PARTS=dna bench/run.py   # or bench/dna.py; BENCH_RUNS BENCH_DNA_PPS "
              "BENCH_DNA_COUNT BENCH_ONLY=setup,setup (prints only)",
              f"pfsend -i veth1 -n {COUNT} -l 64 -b 16 -c 16 -p {PPS} -M MAC --json   "
              "# taskset -c 1, namespace b",
              f"pfbalance -i veth0 -c {DNA_ID} -n 2|2,1 -d T   # taskset -c 0",
              f"pfcount -i dnacluster:{DNA_ID}@0|1|2 -l 128 -d T --json   # taskset -c 0, each",
              f"pfcount -i veth0 -e 1 -c {KERNEL_ID} -l 128 -d T --json   # x2, taskset -c 0",
              "pfcount -i veth0 -e 1 -l 128 -d T --json   # kernel_2_1's third, taskset -c 0",
              "```"]
    return lines


def main():
    def body(pair, tmp, only):
        names = [n for n in SETUPS if not only or n in only]
        res = measure(pair, names, os.path.join(tmp, "pf_ring"))
        return lambda facts: section_lines(res, facts)
    return run.part_main("dna", "## DNA cluster", body)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
