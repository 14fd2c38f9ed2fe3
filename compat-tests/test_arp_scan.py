"""Debian's arp-scan, unmodified, on PF_RING rings: it sends its ARP
requests with pcap_sendpacket and reads the replies with pcap, so on the
ring route both go through the ring.  The same scan of the peer namespace
on the system libpcap and through the drop-in must find the same hosts and
save the same replies (-W)."""
import shutil

import pytest

from pcap_pfring.testing.compat import ON_RING, TWO_ROUTES, Program, read_pcap, route_env

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(shutil.which("arp-scan") is None,
                                 reason="arp-scan is installed by make setup")]

SECOND, ABSENT = "10.77.0.3", "10.77.0.4"     # on b's veth; on nobody's


def arp_scan(pair, route, saved, *targets, env=None):
    """arp-scan from a on route, saving the replies to saved: (exit status,
    stdout, stderr)."""
    p = Program(pair.a, ["arp-scan", "-I", pair.if_a, "--plain", "--retry=2", "--timeout=200",
                         "-W", str(saved), *targets],
                route_env(route, PCAP_PF_RING_DEBUG=1, **(env or {})))
    code = p.wait(timeout=30)
    return code, p.stdout, p.stderr


def test_same_hosts_and_replies(veth_pair, tmp_path):
    veth_pair.b.run(["ip", "addr", "add", f"{SECOND}/24", "dev", veth_pair.if_b])
    out = {route: arp_scan(veth_pair, route, tmp_path / f"{route}.pcap",
                           veth_pair.ip_b, SECOND, ABSENT) for route in TWO_ROUTES}
    assert out["ring"][0] == out["stock"][0] == 0, out
    mac = ":".join(f"{b:02x}" for b in veth_pair.mac_b)
    found = {route: sorted(tuple(line.split("\t")[:2]) for line in stdout.splitlines())
             for route, (_, stdout, _) in out.items()}
    assert found["ring"] == found["stock"] == [(veth_pair.ip_b, mac), (SECOND, mac)]
    assert ON_RING in out["ring"][2]
    assert "pcap-pfring" not in out["stock"][2]
    saved = {}
    for route in TWO_ROUTES:
        link, records = read_pcap(tmp_path / f"{route}.pcap")
        assert link == 1
        saved[route] = sorted(r[3] for r in records)
    assert saved["ring"] == saved["stock"]
    assert len(saved["ring"]) == 2
    assert all(f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02" for f in saved["ring"])


def test_requests_are_sent_through_the_ring(veth_pair, tmp_path):
    """With PCAP_PF_RING_RECV_ONLY the ring refuses to send: arp-scan's
    pcap_sendpacket fails on the ring route (and only there), so it is the
    ring that sends arp-scan's requests."""
    out = {route: arp_scan(veth_pair, route, tmp_path / f"{route}.pcap", veth_pair.ip_b,
                           env={"PCAP_PF_RING_RECV_ONLY": 1}) for route in TWO_ROUTES}
    assert out["stock"][0] == 0
    assert out["stock"][1].startswith(f"{veth_pair.ip_b}\t")
    assert out["ring"][0] == 1
    assert "failed to send packet" in out["ring"][2]
    assert out["ring"][1] == ""
