"""Two Python bindings of libpcap from PyPI, unmodified, on PF_RING rings:
pypcap (a C extension that links libpcap.so.0.8) and libpcap (ctypes, which
loads the library find_library("pcap") names, the same soname).  Neither
carries a libpcap of its own, so the route decides which libpcap they get.

pcap_bindings_probe.py captures a count of packets with a filter through
one binding; it runs on both routes at once on the same traffic, and both
must get exactly the packets the filter selects, in order, with the same
stats, the ring route's process having mapped the drop-in."""
import json
import os
import sys

import pytest

from pcap_pfring.cli.pfring_run import libdir
from pcap_pfring.testing.compat import (
    ON_RING,
    TWO_ROUTES,
    Program,
    collect_with_traffic,
    flow_frames,
    route_env,
    stock_filter,
    wait_packet_sockets,
)

pytestmark = pytest.mark.needs_root

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "pcap_bindings_probe.py")
BINDINGS = {"pypcap": "pcap", "libpcap": "libpcap"}


def probe(ns, route, binding, ifname, expr, count):
    p = Program(ns, [sys.executable, PROBE, binding, ifname, expr, str(count)],
                route_env(route, PCAP_PF_RING_DEBUG=1))
    p.wait_for("ready", stream="out")
    return p


def result(p, timeout=15):
    code = p.wait(timeout=timeout)
    assert code == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


@pytest.mark.parametrize("binding", sorted(BINDINGS))
@pytest.mark.parametrize("expr", ["ip", "udp and src port 53", "tcp and dst port 80"])
def test_capture_side_by_side(veth_pair, tmp_path, binding, expr):
    pytest.importorskip(BINDINGS[binding], reason="make setup installs compat-tests/requirements.txt")
    rx, tx = flow_frames(veth_pair, 24)
    expected = stock_filter(tmp_path, rx + tx, expr)
    assert 0 < len(expected) <= len(rx + tx)
    progs = {}
    try:
        for route in TWO_ROUTES:
            progs[route] = probe(veth_pair.a, route, binding, veth_pair.if_a, expr, len(expected))
        wait_packet_sockets(veth_pair.a, len(TWO_ROUTES), veth_pair.if_a)
    except BaseException:
        for p in progs.values():
            p.stop()
        raise
    out = collect_with_traffic(veth_pair, progs, lambda _, p: result(p), rx, tx)
    for route in TWO_ROUTES:
        assert [bytes.fromhex(h) for h in out[route]["frames"]] == expected, route
    assert out["ring"]["stats"] == out["stock"]["stats"]
    assert out["ring"]["stats"][0] >= len(expected)
    assert ON_RING in progs["ring"].stderr
    assert "pcap-pfring" not in progs["stock"].stderr
    # The drop-in is what the binding bound, and it says so in its version.
    ours = os.path.join(libdir(), "libpcap.so.0.8")
    assert ours in out["ring"]["maps"]
    assert ours not in out["stock"]["maps"]
    assert "pcap-pfring" in out["ring"]["version"]
    assert "pcap-pfring" not in out["stock"]["version"]
