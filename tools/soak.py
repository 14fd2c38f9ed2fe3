"""make soak: a per-flow cluster of 3 rings under traffic for a long time,
one member killed (SIGKILL) and restarted every round.

    python tools/soak.py [--minutes 10] [--round 30] [--pps 20000] [--out FILE]

Two throwaway namespaces joined by a veth pair.  Three member processes
(this file with --member) join cluster SOAK_CLUSTER (per flow, 5-tuple) on
a's veth and count what they receive per flow; pfsend in b sends 1,024 UDP
flows (16 sources x 16 destinations x 4 ports), each the same number of
times, for most of each round.  Then, with the traffic stopped, every member
drains its ring and reports, and member 0 is killed and started again.

Checked every round (a failure ends the run with status 1):
- every flow went to exactly one member, whole (the cluster's promise);
- for every member, received + dropped == what was sent to it (the packets
  of its flows), so nothing is lost outside the rings' own drop counters and
  nothing is duplicated;
- the members that live through the run keep a flat resident size: at the
  end at most 10% (and 4 MiB) above what they had after the second round.
The figures of every round go to --out (JSON; default build/soak.json).
Every wait is bounded; the namespaces and processes are removed by name and
pid whatever happens.
"""
import argparse
import collections
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOAK_CLUSTER = 57
FLOWS = (16, 16, 4)                 # pfsend -b, -c, -t
KEY = slice(26, 36)                 # IPv4 source, destination, UDP source port


# -- a member -------------------------------------------------------------------

def rss_kb():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def member(device, lifetime):
    from pcap_pfring import ClusterType, Ring
    deadline = time.monotonic() + lifetime
    ring = Ring(device, appname="soak-member")
    ring.set_cluster(SOAK_CLUSTER, ClusterType.PER_FLOW_5_TUPLE)
    ring.enable()
    print("ready", flush=True)
    flows, recv, buf = collections.Counter(), 0, b""

    def take(timeout):
        nonlocal recv
        batch = ring.recv_batch(4096, timeout=timeout)
        for _, view in batch.views():
            flows[bytes(view[KEY])] += 1
        recv += len(batch)
        return len(batch)

    while time.monotonic() < deadline:
        take(0.1)
        if not select.select([0], [], [], 0)[0]:
            continue
        data = os.read(0, 4096)
        if not data:
            break
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip() != b"report":
                continue
            quiet = time.monotonic() + 0.3      # drain: empty for 0.3 s
            while time.monotonic() < quiet:
                if take(0.05):
                    quiet = time.monotonic() + 0.3
            print(json.dumps({"recv": recv, "drop": ring.stats().drop, "rss_kb": rss_kb(),
                              "flows": {k.hex(): n for k, n in flows.items()}}), flush=True)
            flows.clear()
    ring.close()
    return 0


# -- the run --------------------------------------------------------------------

class Member:
    def __init__(self, pair, index, lifetime):
        self.index = index
        argv = [sys.executable, os.path.abspath(__file__), "--member", pair.if_a,
                "--lifetime", str(lifetime)]
        self.p = subprocess.Popen(pair.a.cmd(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        self.last = {"recv": 0, "drop": 0}
        self.rss = []
        line = self._line(15)
        if line != "ready":
            raise RuntimeError(f"member {index}: {line!r}")

    def _line(self, timeout):
        if not select.select([self.p.stdout], [], [], timeout)[0]:
            raise RuntimeError(f"member {self.index}: no answer within {timeout} s")
        return self.p.stdout.readline().strip()

    def report(self):
        """(received, dropped) since the last report, the flows, the RSS."""
        self.p.stdin.write("report\n")
        self.p.stdin.flush()
        r = json.loads(self._line(30))
        got = (r["recv"] - self.last["recv"], r["drop"] - self.last["drop"])
        self.last = r
        self.rss.append(r["rss_kb"])
        return got, r["flows"]

    def kill(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(10)


def one_round(pair, members, per_flow, pps):
    """Send, report, check; returns the round's figures."""
    nflows = FLOWS[0] * FLOWS[1] * FLOWS[2]
    res = pair.b.run(["taskset", "-c", "1", os.path.join(os.path.dirname(sys.executable), "pfsend"),
                      "-i", pair.if_b, "-n", str(per_flow * nflows), "-p", str(pps),
                      "-b", str(FLOWS[0]), "-c", str(FLOWS[1]), "-t", str(FLOWS[2]),
                      "-M", pair.mac_a.hex(":"), "-q", "--json"], timeout=600)
    sent = json.loads(res.stdout)["sent"]
    if sent != per_flow * nflows:
        raise RuntimeError(f"pfsend sent {sent} of {per_flow * nflows}")
    time.sleep(0.3)
    reports = [m.report() for m in members]
    errors, owner = [], {}
    for m, ((recv, drop), flows) in zip(members, reports):
        for key in flows:
            if key in owner:
                errors.append(f"flow {key} went to members {owner[key]} and {m.index}")
            owner[key] = m.index
        expected = per_flow * len(flows)
        if recv + drop != expected:
            errors.append(f"member {m.index}: received {recv} + dropped {drop} != {expected} "
                          f"sent to its {len(flows)} flows")
        if drop == 0 and any(n != per_flow for n in flows.values()):
            errors.append(f"member {m.index}: a flow arrived in part")
    if len(owner) != nflows:
        errors.append(f"{nflows - len(owner)} flows reached no member")
    return {"sent": sent, "members": [{"member": m.index, "recv": r[0][0], "drop": r[0][1],
                                       "flows": len(r[1]), "rss_kb": m.rss[-1]}
                                      for m, r in zip(members, reports)], "errors": errors}


def run(args):
    from pcap_pfring.netns import VethPair
    rounds = max(2, int(args.minutes * 60 // args.round))
    per_flow = max(1, int(args.pps * (args.round - 3) / (FLOWS[0] * FLOWS[1] * FLOWS[2])))
    lifetime = args.minutes * 60 + 120
    pair = VethPair()
    members = []
    log = {"rounds": [], "pps": args.pps, "per_flow": per_flow}
    ok = True
    try:
        members = [Member(pair, i, lifetime) for i in range(3)]
        for n in range(rounds):
            r = one_round(pair, members, per_flow, args.pps)
            r["round"] = n + 1
            log["rounds"].append(r)
            print(f"round {n + 1}/{rounds}: sent {r['sent']}; " + "; ".join(
                f"member {m['member']} {m['recv']}+{m['drop']} ({m['flows']} flows, "
                f"{m['rss_kb']} KiB)" for m in r["members"]), flush=True)
            for e in r["errors"]:
                print("  FAIL", e, flush=True)
            ok = ok and not r["errors"]
            if n + 1 < rounds:
                members[0].kill()
                members[0] = Member(pair, 0, lifetime)
        for m in members[1:]:
            first, last = m.rss[1], m.rss[-1]
            grew = last - first
            log.setdefault("rss", []).append({"member": m.index, "after_round_2_kb": first,
                                              "at_end_kb": last})
            if grew > max(first // 10, 4096):
                ok = False
                print(f"FAIL member {m.index}: resident size grew from {first} to {last} KiB",
                      flush=True)
            else:
                print(f"member {m.index}: resident size {first} -> {last} KiB", flush=True)
    finally:
        for m in members:
            m.kill()
        pair.delete()
        log["ok"] = ok
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(log, f, indent=1)
    print("soak:", "ok" if ok else "FAILED", f"({rounds} rounds; figures in {args.out})")
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--round", type=float, default=30.0, help="seconds per round")
    p.add_argument("--pps", type=int, default=20000)
    p.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "build", "soak.json"))
    p.add_argument("--member", metavar="DEVICE", help=argparse.SUPPRESS)
    p.add_argument("--lifetime", type=float, default=900, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.member:
        return member(args.member, args.lifetime)
    if os.geteuid() != 0:
        print("soak: needs root", file=sys.stderr)
        return 1
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
