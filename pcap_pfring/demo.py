"""make demo: pfsend -> pfcount across a veth pair between two namespaces,
then two unmodified tcpdumps splitting the same kind of traffic per flow.

Needs root (it creates network namespaces and opens packet sockets).

1. Creates two uniquely named network namespaces joined by a veth pair.
2. Starts pfcount in namespace a (bounded by -N and -d) and waits until its
   ring is enabled.
3. Runs pfsend in namespace b: 100,000 frames of 64 bytes in 256 flows
   (-b 16 -c 16), paced at 40,000 packets per second (so that a few per-second
   statistics show).
4. Prints pfsend's summary, pfcount's output and both final statistics.
5. Starts two Debian tcpdumps under pfring-run with PCAP_PF_RING_CLUSTER_ID
   and PCAP_PF_RING_USE_CLUSTER_PER_FLOW (and an application name each), shows
   the status view while they run, sends 20,000 more frames, and checks their
   two pcap files: together exactly the frames sent, no flow in both.
6. Kills what is still running (by pid) and deletes the two namespaces (by
   name), whatever happened.

Exit status 0 only when both parts match exactly.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

from .netns import VethPair
from .pcapfile import read_pcap

COUNT = 100_000
LENGTH = 64
RATE = 40_000
TIMEOUT = 30          # seconds any one step may take


def tool(name):
    """The tool next to this Python (the venv's bin), else on PATH."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else shutil.which(name) or name


def heading(text):
    print(f"\n=== {text} ===", flush=True)


class Output:
    """Collects a child's stream in a thread; ``wait_for`` a line."""

    def __init__(self, stream):
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)        # end of stream
            self.cond.notify_all()

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if any(line is not None and text in line for line in self.lines):
                    return True
                if None in self.lines or time.monotonic() >= deadline:
                    return False
                self.cond.wait(deadline - time.monotonic())

    def text(self):
        self.thread.join(TIMEOUT)
        with self.cond:
            return "".join(line for line in self.lines if line is not None)


def main():
    print("pcap-pfring demo: pfsend -> pfcount over a veth pair between two network "
          "namespaces.\nIt needs root (network namespaces, packet sockets).", flush=True)
    if os.geteuid() != 0:
        print("demo: needs root (run it as root: sudo make demo)", file=sys.stderr)
        return 1
    heading("building the demo network")
    pair = VethPair()
    procs = []
    try:
        print(f"namespace {pair.a.name}: {pair.if_a} {pair.ip_a} {pair.mac_a.hex(':')}\n"
              f"namespace {pair.b.name}: {pair.if_b} {pair.ip_b} {pair.mac_b.hex(':')}")

        count_argv = [tool("pfcount"), "-i", pair.if_a, "-e", "1", "-f", "udp",
                      "-N", str(COUNT), "-d", str(TIMEOUT), "--json"]
        heading(f"starting in {pair.a.name}: {' '.join(['pfcount', *count_argv[1:]])}")
        counter = pair.a.popen(count_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        procs.append(counter)
        err = Output(counter.stderr)
        if not err.wait_for("# Polling threads:", TIMEOUT):
            print("pfcount did not start:\n" + err.text(), file=sys.stderr)
            return 1

        send_argv = [tool("pfsend"), "-i", pair.if_b, "-n", str(COUNT), "-l", str(LENGTH),
                     "-b", "16", "-c", "16", "-M", pair.mac_a.hex(":"), "-p", str(RATE),
                     "-d", str(TIMEOUT)]
        heading(f"running in {pair.b.name}: {' '.join(['pfsend', *send_argv[1:]])}")
        sender = pair.b.run(send_argv, check=False, timeout=TIMEOUT + 10)
        print(sender.stdout, end="")
        if sender.returncode != 0:
            print(sender.stderr, end="", file=sys.stderr)

        counter.wait(timeout=TIMEOUT + 10)       # stdout holds one JSON line only
        out = counter.stdout.read()
        heading("pfcount output (stderr)")
        print(err.text(), end="")
        heading("pfcount --json (stdout)")
        print(out, end="")

        sent = _sent(sender.stdout) if sender.returncode == 0 else -1
        stats = json.loads(out) if counter.returncode == 0 and out.strip() else {}
        got = stats.get("recv", -1)
        heading("result")
        print(f"pfsend sent {sent:,} packets; pfcount counted {got:,} "
              f"({stats.get('drop', 0):,} dropped, {stats.get('bytes', 0):,} bytes)")
        ok = sent == got == COUNT and stats.get("bytes") == COUNT * LENGTH
        print("OK: every packet sent was counted" if ok else "MISMATCH", flush=True)
        ok = clustered_tcpdumps(pair, procs) and ok
        return 0 if ok else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        pair.delete()
        print(f"\nnamespaces deleted: {pair.a.name} {pair.b.name}", flush=True)


SPLIT_COUNT = 20_000


def clustered_tcpdumps(pair, procs):
    """Part 2: two unmodified tcpdumps in one per-flow cluster."""
    import tempfile

    if not shutil.which("tcpdump"):
        print("tcpdump is missing (make setup installs it)", file=sys.stderr)
        return False
    tmp = tempfile.mkdtemp(prefix="pfring-demo-")
    env = dict(os.environ, PCAP_PF_RING_CLUSTER_ID="7", PCAP_PF_RING_USE_CLUSTER_PER_FLOW="1")
    dumps, errs = [], []
    try:
        for i in (1, 2):
            out = os.path.join(tmp, f"tcpdump{i}.pcap")
            argv = [tool("pfring-run"), "-a", f"tcpdump-{i}", "tcpdump", "-n", "-U", "-i",
                    pair.if_a, "-w", out, "udp"]
            heading(f"starting in {pair.a.name}: PCAP_PF_RING_CLUSTER_ID=7 "
                    f"PCAP_PF_RING_USE_CLUSTER_PER_FLOW=1 {' '.join(['pfring-run', *argv[1:]])}")
            p = pair.a.popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
            procs.append(p)
            errs.append(Output(p.stderr))
            dumps.append(out)
            if not errs[-1].wait_for("listening on", TIMEOUT):
                print("tcpdump did not start:\n" + errs[-1].text(), file=sys.stderr)
                return False
        heading("the status view while they run: pfring-info")
        info = subprocess.run([tool("pfring-info")], capture_output=True, text=True,
                              timeout=TIMEOUT)
        print("\n".join(line for line in info.stdout.splitlines()
                        if line.split(":")[0].strip() in ("Appl. Name", "Cluster Id",
                                                          "Bound Device(s)", "Tot Packets")
                        or "-" in line.split(":")[0] and "." in line))
        send_argv = [tool("pfsend"), "-i", pair.if_b, "-n", str(SPLIT_COUNT), "-l", str(LENGTH),
                     "-b", "16", "-c", "16", "-M", pair.mac_a.hex(":"), "-p", str(RATE), "-q"]
        heading(f"running in {pair.b.name}: {' '.join(['pfsend', *send_argv[1:]])}")
        pair.b.run(send_argv, check=True, timeout=TIMEOUT + 10)
        time.sleep(1.5)      # tcpdump hands packets over at its 1 s timeout
        for p in procs[-2:]:
            p.send_signal(2)
            p.wait(timeout=TIMEOUT)
        parts = [[r[3] for r in read_pcap(d)[1]] for d in dumps]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    flows = [{f[26:34] for f in part} for part in parts]
    heading("result")
    for i, (part, fl) in enumerate(zip(parts, flows), 1):
        print(f"tcpdump-{i}: {len(part):,} packets of {len(fl)} flows")
    shared = flows[0] & flows[1]
    ok = sum(map(len, parts)) == SPLIT_COUNT and not shared and all(parts)
    print(f"together {sum(map(len, parts)):,} of {SPLIT_COUNT:,} sent; flows in both: "
          f"{len(shared)}")
    print("OK: the two tcpdumps split the traffic per flow" if ok else "MISMATCH", flush=True)
    return ok


def _sent(stdout):
    """N from pfsend's last line, 'Sent N packets'."""
    for line in reversed(stdout.splitlines()):
        words = line.split()
        if len(words) == 3 and words[0] == "Sent" and words[1].isdigit():
            return int(words[1])
    return -1


if __name__ == "__main__":
    sys.exit(main())
