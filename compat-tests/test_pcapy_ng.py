"""pcapy-ng, built from its sdist against the system libpcap, on PF_RING
rings: a small pcapy-ng program (pcapy_probe.py) runs side by side on both
routes on the same traffic; and pcapy-ng's own test suite, from its sdist,
gives the same results on both routes.

make setup builds pcapy-ng from its sdist (its wheel carries a libpcap of its
own, which LD_LIBRARY_PATH cannot replace) and unpacks the sdist's tests
under build/compat/."""
import json
import os
import re
import subprocess
import sys

import pytest

from pcap_pfring.cli.pfring_run import libdir
from pcap_pfring.testing.compat import (
    ON_RING,
    TWO_ROUTES,
    Program,
    collect_with_traffic,
    flow_frames,
    flow_of,
    route_env,
    stock_filter,
)

pcapy = pytest.importorskip("pcapy", reason="make setup builds pcapy-ng into .venv")

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "pcapy_probe.py")
SDIST_TESTS = os.path.join(os.path.dirname(HERE), "build", "compat", "pcapy_ng-2.1.0", "tests")


def probe(ns, route, env=None, **cmd):
    """pcapy_probe.py in ns on route with cmd, started and ready."""
    p = Program(ns, [sys.executable, PROBE, json.dumps(cmd)],
                route_env(route, PCAP_PF_RING_DEBUG=1, **(env or {})))
    p.wait_for("ready", stream="out")
    return p


def result(p, timeout=15):
    code = p.wait(timeout=timeout)
    assert code == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def frames(hexes):
    return [bytes.fromhex(h) for h in hexes]


def test_module_links_the_system_soname():
    """Built from the sdist: NEEDED libpcap.so.0.8, no RPATH, so the route
    decides which libpcap it gets."""
    dyn = subprocess.run(["readelf", "-d", pcapy.__file__], capture_output=True, text=True,
                         check=True).stdout
    assert "[libpcap.so.0.8]" in dyn
    assert "RPATH" not in dyn and "RUNPATH" not in dyn
    maps = {}
    for route in TWO_ROUTES:
        out = subprocess.run([sys.executable, "-c", "import pcapy; "
                              "print(open('/proc/self/maps').read())"],
                             env=route_env(route), capture_output=True, text=True, check=True,
                             timeout=30).stdout
        maps[route] = {line.split()[-1] for line in out.splitlines() if "libpcap.so" in line}
    # The drop-in loads the system libpcap privately, for what it forwards.
    ours = os.path.join(libdir(), "libpcap.so.0.8")
    assert ours in maps["ring"]
    assert maps["ring"] - {ours} == maps["stock"]
    assert len(maps["stock"]) == 1 and not next(iter(maps["stock"])).startswith(libdir())


@pytest.mark.needs_root
@pytest.mark.parametrize("action", ["loop", "next", "dispatch"])
@pytest.mark.parametrize("expr", [None, "udp and src port 53"])
def test_capture_side_by_side(veth_pair, tmp_path, action, expr):
    rx, tx = flow_frames(veth_pair, 20)
    expected = stock_filter(tmp_path, rx + tx, expr or "ip")
    progs = {r: probe(veth_pair.a, r, action=action, ifname=veth_pair.if_a, filter=expr,
                      count=len(expected)) for r in TWO_ROUTES}
    got = collect_with_traffic(veth_pair, progs, lambda _, p: result(p), rx, tx)
    assert f"pcap-pfring: {veth_pair.if_a}: {ON_RING}" in progs["ring"].stderr
    assert got["ring"]["datalink"] == got["stock"]["datalink"] == 1
    assert frames(got["ring"]["frames"]) == frames(got["stock"]["frames"])
    assert sorted(frames(got["ring"]["frames"])) == sorted(expected)
    # pcap_stats: (ps_recv, ps_drop, ps_ifdrop), the packets the filter let through.
    assert got["ring"]["stats"] == got["stock"]["stats"] == [len(expected), 0, 0]


@pytest.mark.needs_root
@pytest.mark.parametrize("route", TWO_ROUTES)
def test_sendpacket_reaches_the_peer_byte_for_byte(veth_pair, tmp_path, route):
    rx, tx = flow_frames(veth_pair, 8)
    catcher = probe(veth_pair.b, "stock", action="loop", ifname=veth_pair.if_b, count=len(tx),
                    filter="ip")
    try:
        sender = probe(veth_pair.a, route, action="send", ifname=veth_pair.if_a,
                       frames=[f.hex() for f in tx])
        assert result(sender) == {"sent": len(tx)}
        got = result(catcher)
    finally:
        catcher.stop()
    assert frames(got["frames"]) == tx
    if route == "ring":
        assert ON_RING in sender.stderr


def fanout_probe(pair, route, group, members, count):
    """members pcapy-ng handles on a's interface in fanout group ``group``."""
    return probe(pair.a, route, action="fanout", ifname=pair.if_a, group=group,
                 members=members, count=count, filter="ip")


@pytest.mark.needs_root
def test_set_fanout_splits_flows_as_on_stock(veth_pair):
    """Two pcapy-ng handles in one PACKET_FANOUT_HASH group: pcap_fileno of a
    ring is its AF_PACKET socket, which joins the group.  A stock pair in a
    second group on the same traffic splits it the same way (the kernel's
    flow hash of the same skb, the same member order)."""
    rx, tx = flow_frames(veth_pair, 40)
    progs = {r: fanout_probe(veth_pair, r, group, 2, len(rx) + len(tx))
             for r, group in (("ring", 101), ("stock", 102))}
    got = collect_with_traffic(veth_pair, progs, lambda _, p: result(p), rx, tx)
    assert ON_RING in progs["ring"].stderr
    ring = [sorted(frames(part)) for part in got["ring"]["parts"]]
    stock = [sorted(frames(part)) for part in got["stock"]["parts"]]
    assert ring == stock
    assert sorted(ring[0] + ring[1]) == sorted(rx + tx)
    assert ring[0] and ring[1]
    owner = {}
    for m, part in enumerate(ring):
        for f in part:
            assert owner.setdefault(flow_of(f), m) == m       # flows whole, both ways


@pytest.mark.needs_root
def test_set_fanout_on_a_clustered_ring_is_refused(veth_pair):
    """A ring in a PF_RING cluster (PCAP_PF_RING_CLUSTER_ID) is already in the
    cluster's PACKET_FANOUT group: the kernel refuses a second group with
    EALREADY, which pcapy-ng raises as PcapError."""
    p = Program(veth_pair.a, [sys.executable, PROBE, json.dumps(
        {"action": "fanout", "ifname": veth_pair.if_a, "group": 103, "members": 1, "count": 1})],
        route_env("ring", PCAP_PF_RING_CLUSTER_ID=7))
    assert p.wait(timeout=15) == 0, p.stderr
    assert json.loads(p.stdout.splitlines()[-1]) == {
        "error": "(114, 'Operation already in progress')"}


# -- pcapy-ng's own tests ----------------------------------------------------

# unittest -v: "name (module.Class.name)", a docstring line maybe, " ... ok".
RESULT = re.compile(r"^\w+ \(([\w.]+)\)(?:\n.*?)? \.\.\. (ok|FAIL|ERROR|skipped.*)$",
                    re.MULTILINE)


def run_suite(route, argv):
    """unittest -v of pcapy-ng's sdist tests on route: {test: outcome}."""
    # Run as the sdist means them: from their folder, which goes on sys.path.
    out = subprocess.run([sys.executable, *argv, "-v"], cwd=SDIST_TESTS,
                         env=route_env(route, PYTHONSAFEPATH=None), capture_output=True,
                         text=True, timeout=120)
    results = dict(RESULT.findall(out.stderr))
    assert results, out.stderr
    return results, out.stderr


# testEOFValue compares sys.getrefcount(None) before and after reading a
# file, which CPython 3.11 moves for reasons of its own (None is not
# immortal before 3.12): it passes or fails from run to run, on either
# route, so only its presence is compared.
UNSTABLE = {"__main__.TestPcapy.testEOFValue"}


@pytest.mark.parametrize("argv, count", [
    (["-m", "unittest", "test_fast"], 89),
    (["pcapytests.py"], 7),
])
def test_sdist_suite_same_results_on_both_routes(argv, count):
    ring, ring_log = run_suite("ring", argv)
    stock, _ = run_suite("stock", argv)
    assert ring.keys() == stock.keys()
    assert len(ring) == count
    assert {t: o for t, o in ring.items() if t not in UNSTABLE} == \
        {t: o for t, o in stock.items() if t not in UNSTABLE}
    assert {t for t, outcome in ring.items() if outcome != "ok"} - UNSTABLE == set()
    assert f"Ran {count} tests" in ring_log
