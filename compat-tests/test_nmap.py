"""Debian's nmap, unmodified, on PF_RING rings: the same scans of the peer
namespace on the system libpcap and through the drop-in must find the same.

nmap sends its probes itself and reads the answers through libpcap, so a
scan's result is what its capture saw.  The peer (namespace b) listens on
some ports and has a second address; the scans run one route after the
other from namespace a and their XML reports must agree exactly, host by
host and port by port, with the reasons nmap gives."""
import shutil
import sys
import xml.etree.ElementTree as ET

import pytest

from pcap_pfring.testing.compat import ON_RING, TWO_ROUTES, Program, route_env

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("nmap") is None,
                                 reason="nmap is installed by make setup")]

OPEN = (22, 8080)
CLOSED = (23, 80, 443)
SECOND, ABSENT = "10.77.0.3", "10.77.0.4"     # on b's veth; on nobody's

LISTENER = """
import socket, sys, time
socks = []
for port in map(int, sys.argv[1:]):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen()
    socks.append(s)
print("listening", flush=True)
time.sleep(120)
"""


@pytest.fixture
def peer(veth_pair):
    """b listening on OPEN, with SECOND as a second address; the listener
    is stopped by its pid."""
    veth_pair.b.run(["ip", "addr", "add", f"{SECOND}/24", "dev", veth_pair.if_b])
    p = Program(veth_pair.b, [sys.executable, "-c", LISTENER, *map(str, OPEN)], route_env("stock"))
    try:
        p.wait_for("listening", stream="out")
        yield veth_pair
    finally:
        p.stop()


def nmap(pair, route, *args):
    """nmap ARGS from a on route: (its XML report's root, stderr)."""
    res = Program(pair.a, ["nmap", "-n", "-e", pair.if_a, "--max-retries", "2",
                           "--host-timeout", "30s", "-oX", "-", *args],
                  route_env(route, PCAP_PF_RING_DEBUG=1))
    code = res.wait(timeout=60)
    assert code == 0, res.stderr
    return ET.fromstring(res.stdout), res.stderr


def hosts(report):
    """{address: (state, reason, {port: (state, reason)})} of a report."""
    found = {}
    for host in report.iter("host"):
        addr = host.find("address[@addrtype='ipv4']").get("addr")
        status = host.find("status")
        ports = {int(p.get("portid")): (p.find("state").get("state"), p.find("state").get("reason"))
                 for p in host.iter("port")}
        found[addr] = (status.get("state"), status.get("reason"), ports)
    return found


def both(pair, *args):
    out = {route: nmap(pair, route, *args) for route in TWO_ROUTES}
    assert ON_RING in out["ring"][1]
    assert "pcap-pfring" not in out["stock"][1]
    return {route: hosts(report) for route, (report, _) in out.items()}


def test_syn_scan_finds_open_and_closed_ports(peer):
    ports = ",".join(map(str, sorted(OPEN + CLOSED)))
    found = both(peer, "-sS", "-p", ports, peer.ip_b)
    assert found["ring"] == found["stock"]
    assert found["ring"] == {peer.ip_b: (
        "up", "arp-response",
        {**{p: ("open", "syn-ack") for p in OPEN}, **{p: ("closed", "reset") for p in CLOSED}})}


@pytest.mark.parametrize("ping", [[], ["--disable-arp-ping", "-PE"]], ids=["arp", "icmp-echo"])
def test_ping_scan_finds_the_hosts_that_are_up(peer, ping):
    found = both(peer, "-sn", *ping, peer.ip_b, SECOND, ABSENT)
    assert found["ring"] == found["stock"]
    reason = "echo-reply" if ping else "arp-response"
    up = {addr for addr, (state, _, _) in found["ring"].items() if state == "up"}
    assert up == {peer.ip_b, SECOND}
    assert {found["ring"][a][1] for a in up} == {reason}
