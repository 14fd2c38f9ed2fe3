"""make demo: a two-namespace network, pfsend in one end, pfcount in the other.

Needs root.  Creates two uniquely named network namespaces joined by a veth
pair, runs pfcount (namespace a) and pfsend (namespace b, 200,000 frames of
64 bytes in 256 flows), prints pfcount's statistics, then deletes the
namespaces.  Exits 0 when pfcount counted exactly what pfsend sent.
"""
import os
import shutil
import subprocess
import sys
import time

from .testing.fixtures import VethPair

COUNT = 200_000


def tool(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else shutil.which(name) or name


def heading(text):
    print(f"\n=== {text} ===", flush=True)


def main():
    if os.geteuid() != 0:
        print("demo: needs root (network namespaces and packet sockets)", file=sys.stderr)
        return 1
    heading("building the demo network")
    pair = VethPair()
    procs = []
    try:
        print(f"namespace {pair.a.name}: {pair.if_a} {pair.ip_a}  <->  "
              f"namespace {pair.b.name}: {pair.if_b} {pair.ip_b}")
        heading(f"pfcount -i {pair.if_a} (until {COUNT:,} packets)")
        counter = pair.a.popen([tool("pfcount"), "-i", pair.if_a, "-e", "1", "-N", str(COUNT),
                                "-d", "60", "-f", "udp"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(counter)
        time.sleep(1.0)
        heading(f"pfsend -i {pair.if_b} -n {COUNT} -l 64 -b 16 -c 16")
        sender = pair.b.run([tool("pfsend"), "-i", pair.if_b, "-n", str(COUNT), "-l", "64",
                             "-b", "16", "-c", "16", "-M", pair.mac_a.hex(":"), "-p", "150000"],
                            check=False, timeout=60)
        print(sender.stdout, end="")
        if sender.returncode != 0:
            print(sender.stderr, file=sys.stderr, end="")
        out, err = counter.communicate(timeout=90)
        heading("pfcount output")
        print(err, end="")
        sent = int(sender.stdout.strip().splitlines()[-1].split()[1]) if sender.returncode == 0 else -1
        got = _received(err)
        heading("result")
        print(f"pfsend sent {sent:,} packets; pfcount counted {got:,}")
        ok = sender.returncode == 0 and counter.returncode == 0 and sent == got == COUNT
        print("OK" if ok else "MISMATCH")
        return 0 if ok else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        pair.delete()
        print("namespaces deleted", flush=True)


def _received(pfcount_stderr):
    """The packet count of pfcount's final block."""
    last = 0
    for line in pfcount_stderr.splitlines():
        if "pkts rcvd]" in line and "bytes rcvd" in line:
            last = int(line.split("[", 1)[1].split(" ", 1)[0].replace("'", ""))
    return last


if __name__ == "__main__":
    sys.exit(main())
