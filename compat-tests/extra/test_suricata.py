"""Debian's suricata (bookworm-backports), unmodified, in pcap mode: on the
system libpcap and through the drop-in, on the same generated traffic.

FLOWS flows cross the veth pair, in both directions; some of their UDP
payloads carry the words of the rules file (``rules``), so the alerts that
suricata must raise are known before it starts, one per matching packet
and rule.  TCP flows carry the words too, which the UDP-only rules must not
match.  Each suricata writes alerts and flows to its eve.json (the flows at
shutdown, reason "shutdown"); both routes must give exactly the expected
alert count and flow count.  Then two suricatas through the drop-in in one
per-flow cluster: disjoint flow sets that cover every flow, and alerts
that add up to the same count."""
import json
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from pcap_pfring.testing.compat import (
    Program,
    ipv4_frame,
    route_env,
    send,
    wait_packet_sockets,
)

pytestmark = pytest.mark.needs_root

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "suricata.yaml"
RULES = HERE / "rules"
ON_RING = "capturing on a PF_RING ring"
FLOWS = 22
PER_DIRECTION = 2
TCP_EVERY = 5           # flows 0, 5, 10, ... are TCP, the others UDP
BPF = "net 10.0.0.0/8"  # leaves out the namespaces' own IPv6 chatter
START_TIMEOUT = 60.0    # suricata loads its engine in seconds on a busy machine
RUN_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def rule_words():
    """The content of each rule of the rules file, by sid."""
    words = {}
    for line in RULES.read_text().splitlines():
        if line.startswith("alert udp "):
            words[int(re.search(r"sid:(\d+);", line).group(1))] = \
                re.search(r'content:"([^"]+)";', line).group(1).encode()
    return words


def traffic(pair):
    """(rx, tx, expected): frames sent from b to a and from a to b, and the
    alerts they must raise (sid of each, one per matching UDP packet)."""
    words = list(rule_words().items())
    rx, tx, expected = [], [], []
    for i in range(FLOWS):
        client, server = f"10.2.0.{i + 1}", "10.1.0.1"
        proto, port = (6, 80) if i % TCP_EVERY == 0 else (17, 53)
        for k in range(PER_DIRECTION):
            for direction, frames in (("rx", rx), ("tx", tx)):
                payload = f"flow {i} {direction} {k}".encode()
                for n, (sid, word) in enumerate(words):
                    if (i + k + n) % (3 + n) == 0 and (direction == "rx" or n == 0):
                        payload += b" " + word
                        if proto == 17:
                            expected.append(sid)
                if direction == "rx":
                    frames.append(ipv4_frame(pair.mac_a, pair.mac_b, client, server, proto,
                                             20000 + i, port, payload, ident=i * 16 + k))
                else:
                    frames.append(ipv4_frame(pair.mac_b, pair.mac_a, server, client, proto,
                                             port, 20000 + i, payload, ident=i * 16 + 8 + k))
    return rx, tx, expected


class Suricata:
    """suricata --pcap on a's interface in namespace a, logging to logdir."""

    def __init__(self, pair, logdir, env):
        self.eve = Path(logdir) / "eve.json"
        Path(logdir).mkdir()
        self.prog = Program(pair.a, ["suricata", f"--pcap={pair.if_a}", "--runmode=single",
                                     "-k", "none", "-c", str(CONFIG), "-S", str(RULES),
                                     "-l", str(logdir), BPF], env)

    def wait_started(self):
        self.prog.wait_for("Engine started", timeout=START_TIMEOUT, stream="out")

    def events(self, kind):
        try:
            lines = self.eve.read_text().splitlines()
        except FileNotFoundError:
            return []
        # A line caught half written is left for the next read.
        out = []
        for line in lines:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event_type") == kind:
                out.append(e)
        return out

    def stop(self):
        """SIGTERM, and SIGKILL after STOP_TIMEOUT; the exit status."""
        return self.prog.stop(signal.SIGTERM, timeout=STOP_TIMEOUT)


def run(pair, tmp_path, envs, rx, tx, expected):
    """Suricatas with envs (by name), all capturing at once on the same
    traffic, stopped once their alerts add up to the expected count (or
    after RUN_TIMEOUT); the Suricata of each name, stopped."""
    if shutil.which("suricata") is None:
        pytest.fail("suricata is not installed: make compat-extra installs it from "
                    "bookworm-backports")
    sur = {}
    try:
        for name, env in envs.items():
            sur[name] = Suricata(pair, tmp_path / name, env)
        for s in sur.values():
            s.wait_started()
        wait_packet_sockets(pair.a, len(sur), pair.if_a, timeout=START_TIMEOUT)
        send(pair.b, pair.if_b, rx)
        send(pair.a, pair.if_a, tx)
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline and \
                sum(len(s.events("alert")) for s in sur.values()) < len(expected):
            time.sleep(0.1)
        time.sleep(0.5)     # anything beyond the expected alerts would show up
        codes = {name: s.stop() for name, s in sur.items()}
    finally:
        for s in sur.values():
            s.prog.stop(signal.SIGKILL)
    assert codes == dict.fromkeys(sur, 0), {n: s.prog.stdout + s.prog.stderr
                                            for n, s in sur.items()}
    return sur


def flow_key(e):
    return (e["proto"], e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"])


def all_flows():
    keys = set()
    for i in range(FLOWS):
        proto, port = ("TCP", 80) if i % TCP_EVERY == 0 else ("UDP", 53)
        keys.add((proto, f"10.2.0.{i + 1}", 20000 + i, "10.1.0.1", port))
    return keys


def test_traffic_is_what_the_test_expects(veth_pair):
    rx, tx, expected = traffic(veth_pair)
    assert len(rx) == len(tx) == FLOWS * PER_DIRECTION
    assert sorted(rule_words()) == [1000001, 1000002]
    assert 0 < expected.count(1000001) and 0 < expected.count(1000002)
    assert len(expected) == 30


def test_same_alerts_and_flows_on_both_routes(veth_pair, tmp_path):
    rx, tx, expected = traffic(veth_pair)
    sur = run(veth_pair, tmp_path,
              {r: route_env(r, PCAP_PF_RING_DEBUG=1) for r in ("stock", "ring")},
              rx, tx, expected)
    for route, s in sur.items():
        alerts = s.events("alert")
        assert sorted(a["alert"]["signature_id"] for a in alerts) == sorted(expected), route
        flows = s.events("flow")
        assert len(flows) == FLOWS, route
        assert {flow_key(f) for f in flows} == all_flows(), route
        for f in flows:
            assert (f["flow"]["pkts_toserver"], f["flow"]["pkts_toclient"]) == \
                (PER_DIRECTION, PER_DIRECTION), (route, f)
    assert ON_RING in sur["ring"].prog.stderr
    assert "pcap-pfring" not in sur["stock"].prog.stderr


def test_clustered_suricatas_split_the_flows(veth_pair, tmp_path, status_dir):
    rx, tx, expected = traffic(veth_pair)
    envs = {f"m{m}": route_env("ring", PCAP_PF_RING_DEBUG=1, PCAP_PF_RING_CLUSTER_ID=23,
                               PCAP_PF_RING_USE_CLUSTER_PER_FLOW=1,
                               PCAP_PF_RING_APPNAME=f"suricata-m{m}",
                               PF_RING_STATUS_DIR=status_dir)
            for m in range(2)}
    sur = run(veth_pair, tmp_path, envs, rx, tx, expected)
    flows = {name: {flow_key(f) for f in s.events("flow")} for name, s in sur.items()}
    assert all(flows.values())                         # each member got a share
    assert not flows["m0"] & flows["m1"]               # disjoint
    assert flows["m0"] | flows["m1"] == all_flows()    # and complete
    assert sum(len(s.events("flow")) for s in sur.values()) == FLOWS
    alerts = [a["alert"]["signature_id"] for s in sur.values() for a in s.events("alert")]
    assert sorted(alerts) == sorted(expected)
    for s in sur.values():
        assert ON_RING in s.prog.stderr
