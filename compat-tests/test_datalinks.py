"""Data links on a ring as stock libpcap has them: on `any` the drop-in keeps
PF_RING's Ethernet framing by default, and offers Linux cooked headers too
(tcpdump -y LINUX_SLL / LINUX_SLL2 gives exactly what stock gives); on an
Ethernet device a cooked data link is refused, in stock's words.

tcpdump runs on both routes over the same frames through a veth in the
test's namespaces; the packets written, link-layer headers included, must
be the same byte for byte (time stamps aside).  The frames cover each packet
type (to this host, broadcast, multicast, to another host, sent by this
host) and a VLAN tag (which LINUX_SLL shows and LINUX_SLL2 does not).
"""
import subprocess

import pytest

from pcap_pfring.testing.compat import TWO_ROUTES, ipv4_frame, read_pcap, route_env, send, tcpdump

pytestmark = pytest.mark.needs_root

DLT = {"LINUX_SLL": 113, "LINUX_SLL2": 276}


def traffic(pair):
    """(rx frames sent from b, tx frames sent from a): UDP, numbered in
    the payload."""
    def udp(dst, src, n, vlan=None, src_ip="10.8.0.2", dst_ip="10.8.0.1"):
        return ipv4_frame(dst, src, src_ip, dst_ip, 17, 42000 + n, 9, f"dl {n}".encode(),
                          vlan=vlan, ident=n)
    a, b = pair.mac_a, pair.mac_b
    rx = [udp(a, b, 0), udp(b"\xff" * 6, b, 1), udp(bytes.fromhex("01005e000001"), b, 2),
          udp(bytes.fromhex("02aabbccddee"), b, 3), udp(a, b, 4, vlan=7), udp(a, b, 5)]
    tx = [udp(b, a, 10, src_ip="10.8.0.1", dst_ip="10.8.0.2"),
          udp(b, a, 11, src_ip="10.8.0.1", dst_ip="10.8.0.2")]
    return rx, tx


def capture(pair, tmp_path, link, expr="udp"):
    rx, tx = traffic(pair)
    n = len(rx) + len(tx)
    progs = {route: tcpdump(pair.a, route, "any", tmp_path / f"{route}.pcap", "-y", link,
                            "-c", str(n), *([expr] if expr else []),
                            env={"PCAP_PF_RING_DEBUG": 1})
             for route in TWO_ROUTES}
    try:
        send(pair.b, pair.if_b, rx)
        send(pair.a, pair.if_a, tx)
        codes = {route: p.wait(timeout=10) for route, p in progs.items()}
    finally:
        for p in progs.values():
            p.stop()
    assert codes == {"ring": 0, "stock": 0}, {r: p.stderr for r, p in progs.items()}
    assert "capturing on a PF_RING ring" in progs["ring"].stderr
    out = {}
    for route in TWO_ROUTES:
        got_link, records = read_pcap(tmp_path / f"{route}.pcap")
        assert got_link == DLT[link], route
        out[route] = [(caplen, length, data) for _, caplen, length, data in records]
    return rx, tx, out


@pytest.mark.parametrize("link", ["LINUX_SLL2", "LINUX_SLL"])
def test_cooked_headers_on_any_are_stocks(veth_pair, tmp_path, link):
    rx, tx, out = capture(veth_pair, tmp_path, link)
    assert len(out["stock"]) == len(rx) + len(tx)
    assert out["ring"] == out["stock"]
    hlen = 20 if link == "LINUX_SLL2" else 16
    # what stock shows: the packet types 0 (host), 1 (broadcast), 2
    # (multicast), 3 (other host), 4 (outgoing), and the IP packets whole
    types = [d[10] if link == "LINUX_SLL2" else d[1] for _, _, d in out["stock"]]
    assert types == [0, 1, 2, 3, 0, 0, 4, 4]
    plain = [f[14:] for f in rx[:4] + rx[5:] + tx]
    assert sorted(d[hlen:] for i, (_, _, d) in enumerate(out["ring"]) if i != 4) == \
        sorted(plain)


def test_cooked_headers_without_a_filter(veth_pair, tmp_path):
    """No filter: every packet of the namespace (only the test's)."""
    rx, tx, out = capture(veth_pair, tmp_path, "LINUX_SLL2", expr=None)
    assert len(out["ring"]) == len(rx) + len(tx)
    assert out["ring"] == out["stock"]


def test_any_lists_ethernet_and_the_cooked_links(veth_pair):
    listing = {}
    for route in TWO_ROUTES:
        res = veth_pair.a.run(["tcpdump", "-L", "-i", "any"], env=route_env(route), timeout=20)
        # tcpdump prints the list on stderr
        listing[route] = [line for line in (res.stdout + res.stderr).splitlines()
                          if line.startswith("  ")]
    assert listing["stock"] == ["  LINUX_SLL (Linux cooked v1)", "  LINUX_SLL2 (Linux cooked v2)"]
    assert listing["ring"] == ["  EN10MB (Ethernet)"] + listing["stock"]


@pytest.mark.parametrize("link", ["LINUX_SLL", "LINUX_SLL2"])
def test_cooked_link_on_an_ethernet_device_is_refused(veth_pair, link):
    out = {}
    for route in TWO_ROUTES:
        res = subprocess.run(veth_pair.a.cmd(["tcpdump", "-y", link, "-i", veth_pair.if_a,
                                              "-c", "1", "-w", "/dev/null"]),
                             env=route_env(route, PCAP_PF_RING_DEBUG=1),
                             capture_output=True, text=True, timeout=20)
        out[route] = (res.returncode, res.stderr)
    message = f"tcpdump: {link} is not one of the DLTs supported by this device\n"
    assert out["stock"][0] == out["ring"][0] == 1
    assert out["stock"][1].endswith(message)
    assert out["ring"][1].endswith(message)
    assert "capturing on a PF_RING ring" in out["ring"][1]
